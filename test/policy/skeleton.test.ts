import { describe, expect, it } from 'vitest';
import { letters, skeleton } from '../../src/policy/skeleton.mjs';

describe('skeleton', () => {
  it.each([
    ['password1234', 'password'],
    ['p@ssw0rd1234', 'password'],
    ['summer2024!!!', 'summer'],
    ['$uperman', 'superman'],
    ['pass-word 2024', 'password'],
    ['tr0ub4dor&3', 'troubador'],
  ])('maps %j to %j', (lowered, expected) => {
    expect(skeleton(lowered)).toBe(expected.replaceAll('l', 'i'));
  });

  it('folds 1, !, | and l onto one letter, since each stands for the other', () => {
    expect(skeleton('he11o!world')).toBe(skeleton('hello1world'));
    expect(skeleton('1loveyou')).toBe(skeleton('iloveyou'));
  });

  it('drops only separators inside, and keeps other symbols', () => {
    expect(skeleton('{g4\\^]!^an,t')).toBe('{ga\\^]i^an,t');
    expect(skeleton('e.d.g.e a-u_t-h')).toBe('edgeauth');
  });

  it('leaves nothing of a password made of digits and symbols', () => {
    expect(skeleton('839201748372')).toBe('');
    expect(skeleton('🔑🐙🌵🎲🚲🧩🪁🦉🍄🎻🧭🪐')).toBe('');
  });

  it('keeps letters of every script', () => {
    expect(skeleton('пароль2024')).toBe('пароль');
  });

  it('is idempotent, so a list entry and a candidate fold alike', () => {
    for (const p of ['p@ssw0rd1234', 'summer2024!!!', 'he11o!world', 'a-b-c 1 2 3']) {
      expect(skeleton(skeleton(p))).toBe(skeleton(p));
    }
  });

  it('letters() keeps letters only, after the same substitutions', () => {
    expect(letters('edge-auth-123')).toBe('edgeauthie');
    expect(letters('ana.maria')).toBe('anamaria');
  });
});
