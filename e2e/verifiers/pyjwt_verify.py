"""A downstream verifier in Python, as a service that is not ours would write it: it knows only
the issuer URL and its audience, finds the JWKS through OpenID discovery and verifies with
PyJWT's PyJWKClient (Debian's python3-jwt). Standard library otherwise.

stdin:  {"issuer": "...", "audience": "...", "tokens": {"name": "<jwt>", ...}}
        ("check_typ": false leaves out the typ line, to show what PyJWT alone accepts)
stdout: {"jwks_uri": "...", "results": {"name": {"valid": true, "kid": "...", "sub": "..."}
                                        | {"valid": false, "error": "ExceptionName"}}}
"""

import json
import sys
import urllib.request

import jwt
from jwt import PyJWKClient

request = json.load(sys.stdin)
issuer, audience = request["issuer"], request["audience"]
check_typ = request.get("check_typ", True)

with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=5) as res:
    metadata = json.load(res)
# OpenID Connect Discovery 1.0 section 4.3: the document must name the issuer we asked.
if metadata["issuer"] != issuer:
    raise SystemExit(f"discovery issuer {metadata['issuer']} != {issuer}")

jwks_client = PyJWKClient(metadata["jwks_uri"])

results = {}
for name, token in request["tokens"].items():
    try:
        signing_key = jwks_client.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            leeway=30,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        # RFC 9068 section 4: the typ header says it is an access token. PyJWT never reads typ;
        # this is the one line README "Verifying tokens downstream" shows.
        if check_typ and jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("not an access token: typ is not at+jwt")
        results[name] = {"valid": True, "kid": signing_key.key_id, "sub": claims["sub"]}
    except (jwt.PyJWTError, jwt.PyJWKClientError) as err:
        results[name] = {"valid": False, "error": type(err).__name__, "message": str(err)}

json.dump({"jwks_uri": metadata["jwks_uri"], "results": results}, sys.stdout)
