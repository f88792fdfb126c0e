import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // PGlite ships WebAssembly and data files that must be loaded from node_modules at run time,
  // and postgres.js opens raw sockets: neither belongs in a server bundle.
  serverExternalPackages: ['@electric-sql/pglite', 'postgres'],
  poweredByHeader: false,
  // Lets tests build into their own folder, so an end-to-end build never trips over `npm run dev`.
  distDir: process.env.NEXT_DIST_DIR || '.next',
};

export default nextConfig;
