import { ipcMain, type IpcMainEvent, type IpcMainInvokeEvent } from 'electron';
import { SUBSCRIBE_CHANNEL } from '../ipc/channels.js';
import { ipcHandlers, isTrustedSender, type IpcBindingOptions, type SenderInfo } from '../ipc/ipc-binding.js';

// The only place ipcMain is used (lint refuses it elsewhere): the handlers ipc-binding.ts
// generates from the API tables, registered as they are, plus the subscribe switch.

function senderOf(event: IpcMainEvent | IpcMainInvokeEvent): SenderInfo {
  const frame = event.senderFrame;
  return { webContentsId: event.sender.id, frameUrl: frame?.url, isMainFrame: frame !== null && frame.parent === null };
}

export function registerIpc(options: IpcBindingOptions & { onSubscribe: (on: boolean) => void }): () => void {
  const handlers = ipcHandlers(options);
  for (const [channel, handler] of handlers) ipcMain.handle(channel, (event, input: unknown) => handler(senderOf(event), input));
  const subscribe = (event: IpcMainEvent, on: unknown) => {
    const sender = senderOf(event);
    if (!isTrustedSender(sender, options.window)) return options.onRefused?.(SUBSCRIBE_CHANNEL, sender);
    options.onSubscribe(on === true);
  };
  ipcMain.on(SUBSCRIBE_CHANNEL, subscribe);
  return () => {
    for (const channel of handlers.keys()) ipcMain.removeHandler(channel);
    ipcMain.off(SUBSCRIBE_CHANNEL, subscribe);
  };
}
