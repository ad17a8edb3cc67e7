// `npm start` opens the desktop app. The Electron shell lands with its own issue; until then,
// say so plainly and point at what works today.
process.stdout.write(
  [
    'The Sluice desktop app is not built yet (it lands with the "Electron desktop app" issue).',
    'Today you can:',
    '  npm run demo                       # an embedded PostgreSQL with a demo config and token',
    '  npx sluice check-config FILE       # validate a sluice.yaml',
    '  npx sluice token create --name N   # mint a caller token',
    '',
  ].join('\n'),
);
