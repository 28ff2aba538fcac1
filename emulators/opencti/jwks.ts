/**
 * The platform's public signing keys as `registerConnector { jwks }` returns them (pycti 7.x
 * keeps them to verify the platform's calls when a connector listens over HTTP). One RSA key
 * per process, made on first use, so emulators that are never asked pay nothing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { uuidV4 } from './ids';

let cached: string | undefined;

export function platformJwks(): string {
  if (cached === undefined) {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    cached = JSON.stringify({ keys: [{ ...jwk, kid: uuidV4(), use: 'sig', alg: 'RS256' }] });
  }
  return cached;
}
