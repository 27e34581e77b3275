// Serves the demo page and the built package; PORT picks the port (default 8080).
import { demoMounts, serve } from './serve.mjs';

const port = Number(process.env.PORT ?? 8080);
const mounts = demoMounts('.');
const server = await serve(mounts, port).catch((error) => {
  if (error.code !== 'EADDRINUSE') throw error;
  console.log(`port ${port} is busy; using a free one`);
  return serve(mounts, 0);
});
console.log(`ferrymq demo: ${server.url}/  (Ctrl+C to stop)`);
