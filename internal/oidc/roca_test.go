package oidc

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"math/big"
	"os"
	"strings"
	"testing"
)

// TestWeakRSAKeysIgnored gives a JWKS holding only one weak RSA key, and
// then that key beside a good one: the weak key must never be kept.
func TestWeakRSAKeysIgnored(t *testing.T) {
	k := testKeys(t)
	// Wycheproof's json_web_key_test.json case 7, whose modulus was made
	// by Infineon's RSALib (2049 bits: its size alone passes).
	roca, err := os.ReadFile("testdata/wycheproof/roca_jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	key2047, err := rsa.GenerateKey(rand.Reader, 2047)
	if err != nil {
		t.Fatal(err)
	}
	withE := func(e int) *rsa.PublicKey { return &rsa.PublicKey{N: k.rsaB.N, E: e} }
	cases := []struct {
		name string
		doc  []byte
	}{
		{"ROCA key (Wycheproof case 7)", roca},
		{"1024 bits", jwksDoc(t, jwk(k.rsaSmall, "weak", "RS256"))},
		{"2047 bits", jwksDoc(t, jwk(key2047, "weak", "RS256"))},
		{"exponent 1", jwksDoc(t, jwk(withE(1), "weak", "RS256"))},
		{"even exponent", jwksDoc(t, jwk(withE(65536), "weak", "RS256"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if set, err := parseJWKS(tc.doc); err == nil || !strings.Contains(err.Error(), "no usable signing key") {
				t.Fatalf("parseJWKS kept %d keys, err %v; want no usable signing key", len(set.keys), err)
			}
			// Beside a good key, only the good key is kept.
			var doc struct {
				Keys []json.RawMessage `json:"keys"`
			}
			if err := json.Unmarshal(tc.doc, &doc); err != nil {
				t.Fatal(err)
			}
			good, _ := json.Marshal(jwk(k.rsaA, "good", "RS256"))
			doc.Keys = append(doc.Keys, good)
			both, _ := json.Marshal(doc)
			set, err := parseJWKS(both)
			if err != nil || len(set.keys) != 1 || set.keys[0].kid != "good" {
				t.Fatalf("parseJWKS with a good key beside: %v, %+v", err, set)
			}
		})
	}
	if set, err := parseJWKS(jwksDoc(t, jwk(withE(3), "e3", "RS256"))); err != nil || len(set.keys) != 1 {
		t.Errorf("an RSA key with exponent 3 was refused: %v", err)
	}
}

func TestROCAFingerprint(t *testing.T) {
	k := testKeys(t)
	for name, n := range map[string]*big.Int{"rsaA": k.rsaA.N, "rsaA2": k.rsaA2.N, "rsaB": k.rsaB.N, "rsaAttacker": k.rsaAttacker.N} {
		if hasROCAFingerprint(n) {
			t.Errorf("the random key %s has the ROCA fingerprint", name)
		}
	}
	// A modulus of the RSALib form built from the definition: a power of
	// 65537 modulo M (the product of the primes tested) plus a multiple
	// of M. Moving it by one leaves the form.
	m := big.NewInt(1)
	for _, p := range rocaPrimes {
		m.Mul(m, big.NewInt(p))
	}
	a, _ := rand.Int(rand.Reader, big.NewInt(1<<30))
	kM, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 1200))
	n := new(big.Int).Exp(big.NewInt(65537), a, m)
	n.Add(n, kM.Mul(kM, m))
	if !hasROCAFingerprint(n) {
		t.Error("a modulus of the RSALib form is not flagged")
	}
	if hasROCAFingerprint(n.Add(n, big.NewInt(2))) {
		t.Error("a modulus off the RSALib form by 2 is flagged")
	}
	if len(rocaPrimes) != 125 || rocaPrimes[0] != 3 || rocaPrimes[len(rocaPrimes)-1] != 701 {
		t.Errorf("tested primes %d, from %d to %d; want the 125 odd primes up to 701", len(rocaPrimes), rocaPrimes[0], rocaPrimes[len(rocaPrimes)-1])
	}
}
