# Makes python-bcrypt-vectors.json: bcrypt hashes by Debian's python3-bcrypt (3.2.2, whose core is
# OpenBSD's bcrypt.c), for test/crypto/legacy/bcrypt.test.ts. Run: /usr/bin/python3 python-bcrypt-vectors.py
import bcrypt, json, sys

PASSWORDS = [
    '',
    'a',
    'pässwörd ✓ correct horse',
    '密码 пароль كلمة المرور',
    '🔑 clé 🗝️',
    'x' * 71,
    'x' * 72,
    'x' * 73,  # only the first 72 bytes count
    'a' * 71 + 'é',  # 73 bytes: the 72nd byte is the first of 'é'
    'a' * 70 + '€',  # 73 bytes: '€' straddles the 72-byte boundary
    'é' * 36,  # 72 bytes
    'é' * 37,
    '🔑' * 18,  # 72 bytes
    '🔑' * 19,
]
out = []
for i, password in enumerate(PASSWORDS):
    for prefix in (b'2a', b'2b', b'2y'):
        cost = 10 if (i, prefix) == (2, b'2b') else 4
        salt = bcrypt.gensalt(cost, prefix=b'2b')
        salt = b'$' + prefix + salt[3:]
        out.append({'password': password, 'hash': bcrypt.hashpw(password.encode(), salt).decode()})
json.dump({'maker': 'python3-bcrypt ' + bcrypt.__version__, 'vectors': out}, sys.stdout, ensure_ascii=False, indent=1)
print()
