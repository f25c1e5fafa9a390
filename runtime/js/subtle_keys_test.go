package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	pave "github.com/pave-dev/pave/sdk"
)

// eval runs expr inside an async fetch handler and returns String() of
// its value, or fails the test.
func eval(t *testing.T, expr string) string {
	t.Helper()
	resp, err := pave.Call(&pave.Request{Method: "POST", Path: "/", Body: []byte(expr)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	return string(resp.Body)
}

// signer is one public-key algorithm as the test exercises it: a key made
// here, its Web Crypto parameters, and how Go signs and verifies with it.
type signer struct {
	name      string
	importAlg string // the algorithm argument of importKey, in JavaScript
	signAlg   string // the algorithm argument of sign and verify
	key       crypto.Signer
	jwk       string // the public key as a JWK, in JavaScript
	sign      func(msg []byte) []byte
	verify    func(msg, sig []byte) bool
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func ecdsaSigner(t *testing.T, curve elliptic.Curve, name, hash string, h crypto.Hash) signer {
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	size := (curve.Params().BitSize + 7) / 8
	raw, _ := key.PublicKey.Bytes()
	digest := func(msg []byte) []byte { d := h.New(); d.Write(msg); return d.Sum(nil) }
	return signer{
		name:      "ECDSA " + name,
		importAlg: `{name: "ECDSA", namedCurve: "` + name + `"}`,
		signAlg:   `{name: "ECDSA", hash: "` + hash + `"}`,
		key:       key,
		jwk:       `{kty: "EC", crv: "` + name + `", x: "` + b64u(raw[1:1+size]) + `", y: "` + b64u(raw[1+size:]) + `"}`,
		sign: func(msg []byte) []byte {
			r, s, err := ecdsa.Sign(rand.Reader, key, digest(msg))
			if err != nil {
				t.Fatal(err)
			}
			sig := make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
			return sig
		},
		verify: func(msg, sig []byte) bool {
			if len(sig) != 2*size {
				return false
			}
			return ecdsa.Verify(&key.PublicKey, digest(msg), new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:]))
		},
	}
}

func rsaSigners(t *testing.T) []signer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwk := `{kty: "RSA", n: "` + b64u(key.N.Bytes()) + `", e: "AQAB"}`
	digest := func(msg []byte) []byte { d := crypto.SHA256.New(); d.Write(msg); return d.Sum(nil) }
	pss := &rsa.PSSOptions{SaltLength: 32}
	return []signer{{
		name:      "RSASSA-PKCS1-v1_5",
		importAlg: `{name: "RSASSA-PKCS1-v1_5", hash: "SHA-256"}`,
		signAlg:   `"RSASSA-PKCS1-v1_5"`,
		key:       key, jwk: jwk,
		sign: func(msg []byte) []byte {
			sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest(msg))
			if err != nil {
				t.Fatal(err)
			}
			return sig
		},
		verify: func(msg, sig []byte) bool {
			return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest(msg), sig) == nil
		},
	}, {
		name:      "RSA-PSS",
		importAlg: `{name: "RSA-PSS", hash: {name: "SHA-256"}}`,
		signAlg:   `{name: "RSA-PSS", saltLength: 32}`,
		key:       key, jwk: jwk,
		sign: func(msg []byte) []byte {
			sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest(msg), pss)
			if err != nil {
				t.Fatal(err)
			}
			return sig
		},
		verify: func(msg, sig []byte) bool {
			return rsa.VerifyPSS(&key.PublicKey, crypto.SHA256, digest(msg), sig, pss) == nil
		},
	}}
}

func ed25519Signer(t *testing.T) signer {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{
		name: "Ed25519", importAlg: `"Ed25519"`, signAlg: `{name: "Ed25519"}`,
		key: key, jwk: `{kty: "OKP", crv: "Ed25519", x: "` + b64u(pub) + `"}`,
		sign:   func(msg []byte) []byte { return ed25519.Sign(key, msg) },
		verify: func(msg, sig []byte) bool { return ed25519.Verify(pub, msg, sig) },
	}
}

// TestSubtlePublicKeys checks crypto.subtle's signatures against the
// standard library's, both ways, with keys made by the test: what Go signs
// the script verifies, from SPKI, JWK and (where the algorithm has it) raw
// public keys, and refuses once a byte of the signature or the message
// changes; what the script signs with a PKCS #8 private key or a key pair
// it generated, Go verifies.
func TestSubtlePublicKeys(t *testing.T) {
	load(t, `globalThis.hex = b => [...new Uint8Array(b)].map(x => x.toString(16).padStart(2, "0")).join("");
	globalThis.unhex = s => new Uint8Array(s.match(/../g).map(h => parseInt(h, 16)));
	exports.default = { async fetch(request) {
		const expr = await request.text();
		return new Response(String(await (0, eval)("(async () => (" + expr + "))")()));
	} };`)
	signers := []signer{
		ecdsaSigner(t, elliptic.P256(), "P-256", "SHA-256", crypto.SHA256),
		ecdsaSigner(t, elliptic.P384(), "P-384", "SHA-384", crypto.SHA384),
		ed25519Signer(t),
	}
	signers = append(signers, rsaSigners(t)...)
	msg := []byte("a webhook's body, signed")
	msgJS := `unhex("` + hex.EncodeToString(msg) + `")`
	for _, s := range signers {
		t.Run(s.name, func(t *testing.T) {
			spki, err := x509.MarshalPKIXPublicKey(s.key.Public())
			if err != nil {
				t.Fatal(err)
			}
			pkcs8, err := x509.MarshalPKCS8PrivateKey(s.key)
			if err != nil {
				t.Fatal(err)
			}
			sig := s.sign(msg)
			imports := map[string]string{
				"spki": `crypto.subtle.importKey("spki", unhex("` + hex.EncodeToString(spki) + `"), ` + s.importAlg + `, false, ["verify"])`,
				"jwk":  `crypto.subtle.importKey("jwk", ` + s.jwk + `, ` + s.importAlg + `, false, ["verify"])`,
			}
			switch pub := s.key.Public().(type) {
			case *ecdsa.PublicKey:
				raw, _ := pub.Bytes()
				imports["raw"] = `crypto.subtle.importKey("raw", unhex("` + hex.EncodeToString(raw) + `"), ` + s.importAlg + `, false, ["verify"])`
			case ed25519.PublicKey:
				imports["raw"] = `crypto.subtle.importKey("raw", unhex("` + hex.EncodeToString(pub) + `"), ` + s.importAlg + `, false, ["verify"])`
			}
			for format, imp := range imports {
				bad := append([]byte(nil), sig...)
				bad[len(bad)/2] ^= 1
				got := eval(t, `(async () => { const k = await `+imp+`; return [k.type,
					await crypto.subtle.verify(`+s.signAlg+`, k, unhex("`+hex.EncodeToString(sig)+`"), `+msgJS+`),
					await crypto.subtle.verify(`+s.signAlg+`, k, unhex("`+hex.EncodeToString(bad)+`"), `+msgJS+`),
					await crypto.subtle.verify(`+s.signAlg+`, k, unhex("`+hex.EncodeToString(sig)+`"), new Uint8Array(3)),
					await crypto.subtle.verify(`+s.signAlg+`, k, unhex("`+hex.EncodeToString(sig[:len(sig)-1])+`"), `+msgJS+`)].join() })()`)
				if got != "public,true,false,false,false" {
					t.Errorf("%s: type, good, bad signature, bad message, short signature = %s, want public,true,false,false,false", format, got)
				}
			}

			// The script signs with the PKCS #8 key; Go verifies.
			got := eval(t, `crypto.subtle.importKey("pkcs8", unhex("`+hex.EncodeToString(pkcs8)+`"), `+s.importAlg+`, false, ["sign"]).then(k => crypto.subtle.sign(`+s.signAlg+`, k, `+msgJS+`)).then(hex)`)
			jsSig, err := hex.DecodeString(got)
			if err != nil || !s.verify(msg, jsSig) {
				t.Errorf("the script's signature %q does not verify", got)
			}

			// A pair the script generates: the signature verifies in the
			// script and, with the exported public key, in Go.
			if s.name == "RSA-PSS" || s.name == "RSASSA-PKCS1-v1_5" {
				return // the exported key is checked once, below, with ECDSA's and Ed25519's
			}
			genAlg := strings.Replace(s.importAlg, "}", `, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1])}`, 1)
			got = eval(t, `(async () => { const p = await crypto.subtle.generateKey(`+genAlg+`, false, ["sign", "verify"]);
				const sig = await crypto.subtle.sign(`+s.signAlg+`, p.privateKey, `+msgJS+`);
				return [p.publicKey.extractable, p.privateKey.extractable, p.publicKey.usages.join(), p.privateKey.usages.join(),
					await crypto.subtle.verify(`+s.signAlg+`, p.publicKey, sig, `+msgJS+`),
					hex(await crypto.subtle.exportKey("spki", p.publicKey)), hex(sig)].join() })()`)
			parts := strings.Split(got, ",")
			if len(parts) != 7 || strings.Join(parts[:5], ",") != "true,false,verify,sign,true" {
				t.Fatalf("generated pair: %s", got)
			}
			der, _ := hex.DecodeString(parts[5])
			pub, err := x509.ParsePKIXPublicKey(der)
			if err != nil {
				t.Fatal(err)
			}
			gsig, _ := hex.DecodeString(parts[6])
			var ok bool
			switch pub := pub.(type) {
			case *ecdsa.PublicKey:
				size := (pub.Curve.Params().BitSize + 7) / 8
				d := crypto.SHA256.New()
				if size > 32 {
					d = crypto.SHA384.New()
				}
				d.Write(msg)
				ok = len(gsig) == 2*size && ecdsa.Verify(pub, d.Sum(nil), new(big.Int).SetBytes(gsig[:size]), new(big.Int).SetBytes(gsig[size:]))
			case ed25519.PublicKey:
				ok = ed25519.Verify(pub, msg, gsig)
			}
			if !ok {
				t.Errorf("a generated pair's signature does not verify in Go")
			}
		})
	}

	rsaKey := signers[len(signers)-1].key.(*rsa.PrivateKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	spki, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	ecKey := signers[0].key.(*ecdsa.PrivateKey)
	ecSPKI, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	rsaPriv := `crypto.subtle.importKey("pkcs8", unhex("` + hex.EncodeToString(pkcs8) + `"), {name: "RSA-PSS", hash: "SHA-256"}, true, ["sign"])`
	ecPub := func(extractable string) string {
		return `crypto.subtle.importKey("spki", unhex("` + hex.EncodeToString(ecSPKI) + `"), {name: "ECDSA", namedCurve: "P-256"}, ` + extractable + `, ["verify"])`
	}
	tests := []struct{ expr, want string }{
		// What import shows of a key.
		{rsaPriv + `.then(k => [k.type, k.algorithm.name, k.algorithm.modulusLength, hex(k.algorithm.publicExponent), k.algorithm.hash.name, k.usages.join()].join())`, "private,RSA-PSS,2048,010001,SHA-256,sign"},
		{ecPub("false") + `.then(k => [k.type, k.algorithm.name, k.algorithm.namedCurve, k.extractable].join())`, "public,ECDSA,P-256,false"},
		// Exports: the formats each type has, the JWK's members.
		{rsaPriv + `.then(k => crypto.subtle.exportKey("jwk", k)).then(j => [j.kty, j.alg, j.n === "` + b64u(rsaKey.N.Bytes()) + `", j.d === "` + b64u(rsaKey.D.Bytes()) + `", j.key_ops.join(), j.ext].join())`, "RSA,PS256,true,true,sign,true"},
		{rsaPriv + `.then(k => crypto.subtle.exportKey("pkcs8", k)).then(hex)`, hex.EncodeToString(pkcs8)},
		{ecPub("true") + `.then(k => crypto.subtle.exportKey("spki", k)).then(hex)`, hex.EncodeToString(ecSPKI)},
		{ecPub("true") + `.then(k => crypto.subtle.exportKey("jwk", k)).then(j => [j.kty, j.crv, j.d].join())`, "EC,P-256,"},
		{ecPub("false") + `.then(k => crypto.subtle.exportKey("spki", k)).catch(e => e.name)`, "InvalidAccessError"},
		{ecPub("true") + `.then(k => crypto.subtle.exportKey("pkcs8", k)).catch(e => e.name)`, "InvalidAccessError"},
		{rsaPriv + `.then(k => crypto.subtle.exportKey("raw", k)).catch(e => e.name)`, "InvalidAccessError"},
		// A JWK private key round-trips.
		{`crypto.subtle.importKey("pkcs8", unhex("` + hex.EncodeToString(ecPKCS8) + `"), {name: "ECDSA", namedCurve: "P-256"}, true, ["sign"]).then(k => crypto.subtle.exportKey("jwk", k)).then(j => crypto.subtle.importKey("jwk", j, {name: "ECDSA", namedCurve: "P-256"}, true, ["sign"])).then(k => crypto.subtle.exportKey("pkcs8", k)).then(hex)`, hex.EncodeToString(ecPKCS8)},
		// Refusals, named as Web Crypto names them.
		{`crypto.subtle.importKey("spki", unhex("` + hex.EncodeToString(spki) + `"), {name: "RSA-PSS", hash: "SHA-256"}, false, ["sign"]).catch(e => e.name)`, "SyntaxError"},
		{`crypto.subtle.importKey("pkcs8", unhex("` + hex.EncodeToString(pkcs8) + `"), {name: "RSA-PSS", hash: "SHA-256"}, false, []).catch(e => e.name)`, "SyntaxError"},
		{`crypto.subtle.importKey("spki", unhex("` + hex.EncodeToString(ecSPKI) + `"), {name: "ECDSA", namedCurve: "P-384"}, false, ["verify"]).catch(e => e.name)`, "DataError"},
		{`crypto.subtle.importKey("spki", unhex("` + hex.EncodeToString(ecSPKI) + `"), "Ed25519", false, ["verify"]).catch(e => e.name)`, "DataError"},
		{`crypto.subtle.importKey("spki", new Uint8Array([48, 3, 1, 2, 3]), "Ed25519", false, ["verify"]).catch(e => e.name)`, "DataError"},
		{`crypto.subtle.importKey("raw", new Uint8Array(31), "Ed25519", false, ["verify"]).catch(e => e.name)`, "DataError"},
		{`crypto.subtle.importKey("raw", new Uint8Array(256), {name: "RSA-PSS", hash: "SHA-256"}, false, ["verify"]).catch(e => e.name)`, "NotSupportedError"},
		{`crypto.subtle.importKey("spki", new Uint8Array(4), {name: "ECDSA", namedCurve: "P-192"}, false, ["verify"]).catch(e => e.name)`, "NotSupportedError"},
		{`crypto.subtle.importKey("jwk", {kty: "RSA", n: "` + b64u(rsaKey.N.Bytes()) + `", e: "AQAB", alg: "RS256"}, {name: "RSA-PSS", hash: "SHA-256"}, false, ["verify"]).catch(e => e.name)`, "DataError"},
		{`crypto.subtle.importKey("jwk", {kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA"}, {name: "ECDSA", namedCurve: "P-256"}, false, ["verify"]).catch(e => e.name)`, "DataError"},
		{ecPub("false") + `.then(k => crypto.subtle.verify("Ed25519", k, new Uint8Array(64), new Uint8Array(1))).catch(e => e.name)`, "InvalidAccessError"},
		{ecPub("false") + `.then(k => crypto.subtle.verify({name: "ECDSA"}, k, new Uint8Array(64), new Uint8Array(1))).catch(e => e.name)`, "NotSupportedError"},
		{rsaPriv + `.then(k => crypto.subtle.sign("RSA-PSS", k, new Uint8Array(1))).catch(e => e.name)`, "TypeError"},
		{`crypto.subtle.generateKey({name: "RSA-PSS", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256"}, false, ["sign"]).catch(e => e.name)`, "OperationError"},
		{`crypto.subtle.generateKey("Ed25519", false, ["verify"]).catch(e => e.name)`, "SyntaxError"},
	}
	for _, tt := range tests {
		if got := eval(t, tt.expr); got != tt.want {
			t.Errorf("%s\n= %q, want %q", tt.expr, got, tt.want)
		}
	}
}
