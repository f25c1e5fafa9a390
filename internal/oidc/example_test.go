package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pave-dev/pave/internal/oidc"
)

func ExampleVerifier_Verify() {
	// The issuer's signing key. A real issuer keeps it and publishes only
	// the public half, as a JWKS document.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &key.PublicKey, KeyID: "2030-01", Algorithm: "ES256", Use: "sig"},
	}})
	if err != nil {
		panic(err)
	}

	v, err := oidc.New([]oidc.IssuerConfig{{
		Issuer:     "https://login.example.com/",
		Audiences:  []string{"orders-api"},
		JWKS:       jwks, // or JWKSURL: "https://login.example.com/.well-known/jwks.json"
		Algorithms: []string{"ES256"},
	}}, oidc.Options{})
	if err != nil {
		panic(err)
	}

	// A token as the issuer would sign it.
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "2030-01"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	token, err := jwt.Signed(signer).Claims(map[string]any{
		"iss":   "https://login.example.com/",
		"sub":   "user-42",
		"aud":   "orders-api",
		"exp":   time.Now().Add(5 * time.Minute).Unix(),
		"scope": "orders:read",
	}).Serialize()
	if err != nil {
		panic(err)
	}

	claims, err := v.Verify(context.Background(), token)
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Caller())
	fmt.Println(claims.Scopes)
	fmt.Println(claims.Check(oidc.Requirement{Scopes: []string{"orders:read"}}))
	fmt.Println(claims.Check(oidc.Requirement{Scopes: []string{"orders:write"}}))
	// Output:
	// jwt:https://login.example.com/#user-42
	// [orders:read]
	// <nil>
	// token does not grant access: missing scope "orders:write"
}
