// API keys, the users they belong to, and their VT Hunting privilege and groups.

import { ApiError } from './errors';
import type { Caller } from './store';
import type { EmulatedUser } from './types';

export const DEFAULT_USERS: EmulatedUser[] = [{ apiKey: 'vt-test-key', user: 'connector' }];

interface UserRecord {
  user: string;
  hunting: boolean;
  groups: string[];
}

export class UserDirectory {
  private readonly byKey = new Map<string, UserRecord>();
  private readonly byName = new Map<string, UserRecord>();

  constructor(users: EmulatedUser[]) {
    for (const u of users) {
      if (this.byKey.has(u.apiKey)) throw new Error(`duplicate API key for user ${u.user}`);
      const record: UserRecord = { user: u.user, hunting: u.hunting ?? true, groups: [...(u.groups ?? [])] };
      this.byKey.set(u.apiKey, record);
      this.byName.set(u.user, record);
    }
  }

  /** The user behind a key, without enforcing anything (for the request log). */
  userOf(apiKey: string | undefined): string | undefined {
    return apiKey === undefined ? undefined : this.byKey.get(apiKey)?.user;
  }

  /** VT's 401s: no key at all, or a key it does not know. */
  authenticate(apiKey: string | undefined): Caller & { hunting: boolean } {
    if (apiKey === undefined || apiKey === '') {
      throw new ApiError(401, 'AuthenticationRequiredError', 'X-Apikey header is missing');
    }
    const record = this.byKey.get(apiKey);
    if (!record) throw new ApiError(401, 'WrongCredentialsError', 'Wrong API key');
    return { user: record.user, groups: record.groups, hunting: record.hunting };
  }

  exists(user: string): boolean {
    return this.byName.has(user);
  }

  groupsOf(user: string): readonly string[] | undefined {
    return this.byName.get(user)?.groups;
  }
}
