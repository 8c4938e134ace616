// Fixed hashes of bench/micro/worker.ts's PASSWORD, made once by Debian's python3-bcrypt,
// python3-argon2 and python3-passlib, for the legacy-verify rows (README, "Bringing existing
// users in"). Verification costs what hashing cost, whatever made the hash.
export const LEGACY_HASHES = {
  'bcrypt-10': {
    label: 'bcrypt cost 10',
    hash: '$2b$10$gD6lljy7bwcx9TfJ997j8ODIhqzRONJ..p8X/ehxJKxSJURhaM9km',
  },
  'bcrypt-12': {
    label: 'bcrypt cost 12',
    hash: '$2b$12$HLCy5Rf4/HmTasvqn/25s.Q3W28VtRIFONgaM5jMMbhgh8pkyWRRC',
  },
  'argon2id-owasp': {
    label: 'argon2id m=19456,t=2,p=1 (OWASP)',
    hash: '$argon2id$v=19$m=19456,t=2,p=1$S7txKjQx9KgbjngbuUi5IQ$UAoiZ42cZii/gvYXagWH5g',
  },
  'argon2id-cffi': {
    label: 'argon2id m=65536,t=3,p=4 (argon2-cffi 21.2+ default, RFC 9106)',
    hash: '$argon2id$v=19$m=65536,t=3,p=4$WaIy5UpoPTsYgcyEOXlFsw$cCPVcdBIP3w8GdcEll+SEA',
  },
  'scrypt-14': {
    label: 'scrypt ln=14,r=8,p=1',
    hash: '$scrypt$ln=14,r=8,p=1$SWmNkZLyPsdYS0mp1Zrzfg$Ex6VKom3rB0j/ROYjZAJlkeW55apQOM3+bppW7yNceY',
  },
  'scrypt-16': {
    label: 'scrypt ln=16,r=8,p=1 (passlib default)',
    hash: '$scrypt$ln=16,r=8,p=1$29t7by2FkPK+N4bwnrPW2g$+ZbR51EXh+Fh70OT06n9GOGD4HlCj2hwJyHggid/rvM',
  },
  'pbkdf2-passlib': {
    label: 'pbkdf2-sha256 29,000 (passlib default, WebCrypto)',
    hash: '$pbkdf2-sha256$29000$Yex9r5UyBgCgtFZKqTWm9A$5j1otG7tF0Y1TOfk9xayw0A5P7rDdzlBP2Y3z8vwTaI',
  },
  'pbkdf2-django': {
    label: 'pbkdf2_sha256 1,200,000 (Django 6.0 default, JavaScript)',
    hash: 'pbkdf2_sha256$1200000$wKMfSDo6pn5Y$xAQzU9vNu5PFEzyMm4YkmE2I9m+yuiigRxohLeQA5Zk=',
  },
} as const;
