// `npm run bench:http`: only the HTTP gateway's leg of `npm run bench`, for working on its speed.
import { httpBenchmarks } from './http.bench.js';

process.stdout.write(`${await httpBenchmarks()}\n`);
