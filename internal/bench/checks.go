package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/pave-dev/pave/internal/config"
)

// The checks comparison runs hello on the default daemon behind two POST
// routes that take the same small JSON body: one with an API key only, and
// one with a JWT, a JSON Schema for the body and a rate limit high enough
// never to refuse. The difference of their latencies is what the gateway's
// checks cost per request.

// CheckedBody is the JSON body both routes receive.
const CheckedBody = `{"order":{"id":12345,"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],"note":"leave at the door"}}`

// checkedSchema describes CheckedBody.
const checkedSchema = `type: object
        required: [order]
        additionalProperties: false
        properties:
          order:
            type: object
            required: [id, items]
            properties:
              id: {type: integer, minimum: 1}
              note: {type: string, maxLength: 200}
              items:
                type: array
                maxItems: 50
                items:
                  type: object
                  required: [sku, qty]
                  properties:
                    sku: {type: string, pattern: "^[A-Z]-[0-9]+$"}
                    qty: {type: integer, minimum: 1, maximum: 99}`

// benchIssuer is the URL of the bench's own JWT issuer.
const benchIssuer = "https://issuer.bench.invalid/"

// ChecksManifest deploys hello on both routes, POST /key/NAME behind an API
// key only and POST /checked/NAME behind a JWT with the scope bench, a JSON
// Schema that CheckedBody passes and a rate limit that never refuses. The
// daemon's BenchmarkGateway uses the same routes.
func ChecksManifest(name string, concurrency int) string {
	return fmt.Sprintf(`name: %s
owner: bench
routes:
  - method: POST
    path: /key/%s
  - method: POST
    path: /checked/%s
    auth: jwt
    scopes: [bench]
    schema:
      body:
        %s
rate_limit:
  function: {rate: 1000000/s, burst: 1000000}
  caller: {rate: 1000000/s, burst: 1000000}
limits:
  concurrency: %d
`, name, name, name, checkedSchema, concurrency)
}

// jwtSigner mints ES256 tokens for the bench's issuer. It signs by hand
// with the standard library: the bench measures pave's verification, and
// minting needs no more than this.
type jwtSigner struct {
	key *ecdsa.PrivateKey
}

func newJWTSigner() (*jwtSigner, config.Issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, config.Issuer{}, err
	}
	pad := func(b *big.Int) string { return base64.RawURLEncoding.EncodeToString(b.FillBytes(make([]byte, 32))) }
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": "bench", "use": "sig", "alg": "ES256",
		"x": pad(key.X), "y": pad(key.Y),
	}}})
	if err != nil {
		return nil, config.Issuer{}, err
	}
	iss := config.Issuer{Issuer: benchIssuer, Audiences: []string{"pave"}, JWKS: jwks, Algorithms: []string{"ES256"}}
	return &jwtSigner{key: key}, iss, nil
}

// token returns a token valid for an hour with scope "bench".
func (s *jwtSigner) token() (string, error) {
	now := time.Now().Unix()
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "bench"})
	claims, _ := json.Marshal(map[string]any{
		"iss": benchIssuer, "sub": "bench-client", "aud": "pave", "scope": "bench",
		"iat": now, "exp": now + 3600,
	})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	r, sv, err := ecdsa.Sign(rand.Reader, s.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := append(r.FillBytes(make([]byte, 32)), sv.FillBytes(make([]byte, 32))...)
	return signing + "." + enc.EncodeToString(sig), nil
}
