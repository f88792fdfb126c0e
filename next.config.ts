import type { NextConfig } from 'next';
import createNextIntlPlugin from 'next-intl/plugin';
import { securityHeaders } from './src/lib/security-headers';

const nextConfig: NextConfig = {
  // PGlite ships WebAssembly and data files that must be loaded from node_modules at run time,
  // and postgres.js opens raw sockets: neither belongs in a server bundle.
  serverExternalPackages: ['@electric-sql/pglite', 'postgres'],
  poweredByHeader: false,
  // Lets tests build into their own folder, so an end-to-end build never trips over `npm run dev`.
  distDir: process.env.NEXT_DIST_DIR || '.next',
  // On every response, API routes included; pages also get their nonce-based policy from src/proxy.ts.
  async headers() {
    return [{ source: '/:path*', headers: securityHeaders({ production: process.env.NODE_ENV === 'production' }) }];
  },
};

// next-intl finds its request configuration in src/i18n/request.ts.
export default createNextIntlPlugin()(nextConfig);
