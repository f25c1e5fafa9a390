package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/dop251/goja"
)

// The native half of crypto.subtle's public-key algorithms: ECDSA,
// RSASSA-PKCS1-v1_5, RSA-PSS and Ed25519, over the standard library. The
// prelude checks algorithms, usages and extractability as Web Crypto does;
// these parse, sign and verify. A key crosses to the script only as DER
// (SPKI for a public key, PKCS #8 for a private one), which the prelude
// keeps out of the script's reach as it does an HMAC key's bytes.

// curves are the named curves ECDSA keys may use.
var curves = map[string]elliptic.Curve{
	"P-256": elliptic.P256(),
	"P-384": elliptic.P384(),
	"P-521": elliptic.P521(),
}

// keyError is a failure the prelude reports as the Web Crypto exception
// named kind (DataError, OperationError, ...).
type keyError struct{ kind, msg string }

func (e *keyError) Error() string { return e.msg }

func dataError(format string, args ...any) error {
	return &keyError{"DataError", fmt.Sprintf(format, args...)}
}

// imported is a parsed key as the prelude describes it.
type imported struct {
	der       []byte
	private   bool
	curve     string // ECDSA
	bits      int    // RSA: modulus length
	exponent  []byte // RSA: public exponent, big-endian
	secretLen int    // HMAC from a JWK: the key's bytes are der
}

// importKey parses keyData (bytes, or a JWK's JSON text) in format as a key
// of algorithm alg; curve is the namedCurve an ECDSA import asks for.
func importKey(alg, format string, keyData []byte, curve string) (*imported, error) {
	switch format {
	case "spki":
		pub, err := x509.ParsePKIXPublicKey(keyData)
		if err != nil {
			return nil, dataError("importKey: not a SubjectPublicKeyInfo: %v", err)
		}
		return describeKey(alg, pub, curve)
	case "pkcs8":
		priv, err := x509.ParsePKCS8PrivateKey(keyData)
		if err != nil {
			return nil, dataError("importKey: not a PKCS #8 private key: %v", err)
		}
		return describeKey(alg, priv, curve)
	case "raw":
		switch alg {
		case "ECDSA":
			c, ok := curves[curve]
			if !ok {
				return nil, dataError("importKey: unsupported curve %q", curve)
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(c, keyData)
			if err != nil {
				return nil, dataError("importKey: not an uncompressed %s point", curve)
			}
			return describeKey(alg, pub, curve)
		case "Ed25519":
			if len(keyData) != ed25519.PublicKeySize {
				return nil, dataError("importKey: an Ed25519 public key is %d bytes, not %d", ed25519.PublicKeySize, len(keyData))
			}
			return describeKey(alg, ed25519.PublicKey(keyData), curve)
		}
		return nil, &keyError{"NotSupportedError", "importKey: the raw format holds only ECDSA and Ed25519 public keys here"}
	case "jwk":
		return importJWK(alg, keyData, curve)
	}
	return nil, &keyError{"NotSupportedError", "importKey: unsupported format " + format}
}

// describeKey checks that key is one of alg (on curve, for ECDSA) and
// returns it as DER with what the prelude shows of it.
func describeKey(alg string, key any, curve string) (*imported, error) {
	var pub any
	im := &imported{}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		im.private, pub = true, &k.PublicKey
	case *rsa.PrivateKey:
		im.private, pub = true, &k.PublicKey
	case ed25519.PrivateKey:
		im.private, pub = true, k.Public()
	default:
		pub = key
	}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if alg != "ECDSA" {
			return nil, dataError("importKey: an EC key is not an %s key", alg)
		}
		if im.curve = p.Curve.Params().Name; im.curve != curve {
			return nil, dataError("importKey: the key is on %s, not %s", im.curve, curve)
		}
	case *rsa.PublicKey:
		if alg != "RSASSA-PKCS1-v1_5" && alg != "RSA-PSS" {
			return nil, dataError("importKey: an RSA key is not an %s key", alg)
		}
		im.bits, im.exponent = p.N.BitLen(), big.NewInt(int64(p.E)).Bytes()
	case ed25519.PublicKey:
		if alg != "Ed25519" {
			return nil, dataError("importKey: an Ed25519 key is not an %s key", alg)
		}
	default:
		return nil, dataError("importKey: unsupported key type %T", pub)
	}
	var err error
	if im.private {
		im.der, err = x509.MarshalPKCS8PrivateKey(key)
	} else {
		im.der, err = x509.MarshalPKIXPublicKey(pub)
	}
	if err != nil {
		return nil, dataError("importKey: %v", err)
	}
	return im, nil
}

// jwk holds the members of a JSON Web Key (RFC 7517, 7518, 8037) that
// these algorithms use.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	D   string `json:"d,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	P   string `json:"p,omitempty"`
	Q   string `json:"q,omitempty"`
	DP  string `json:"dp,omitempty"`
	DQ  string `json:"dq,omitempty"`
	QI  string `json:"qi,omitempty"`
	K   string `json:"k,omitempty"`
}

func b64(field, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, dataError("importKey: the JWK's %q is not base64url", field)
	}
	return b, nil
}

func importJWK(alg string, text []byte, curve string) (*imported, error) {
	var k jwk
	if err := json.Unmarshal(text, &k); err != nil {
		return nil, dataError("importKey: not a JWK: %v", err)
	}
	switch {
	case k.Kty == "oct" && alg == "HMAC":
		b, err := b64("k", k.K)
		if err != nil {
			return nil, err
		}
		return &imported{der: b, secretLen: len(b)}, nil
	case k.Kty == "EC" && alg == "ECDSA":
		if k.Crv != curve {
			return nil, dataError("importKey: the JWK's curve is %q, not %s", k.Crv, curve)
		}
		c, ok := curves[curve]
		if !ok {
			return nil, dataError("importKey: unsupported curve %q", curve)
		}
		x, err := b64("x", k.X)
		if err != nil {
			return nil, err
		}
		y, err := b64("y", k.Y)
		if err != nil {
			return nil, err
		}
		size := (c.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, dataError("importKey: the JWK's coordinates are not %d bytes", size)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(c, append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, dataError("importKey: the JWK's point is not on %s", curve)
		}
		if k.D == "" {
			return describeKey(alg, pub, curve)
		}
		d, err := b64("d", k.D)
		if err != nil {
			return nil, err
		}
		priv, err := ecdsa.ParseRawPrivateKey(c, d)
		if err != nil {
			return nil, dataError("importKey: the JWK's private key is not valid on %s", curve)
		}
		if !priv.PublicKey.Equal(pub) {
			return nil, dataError("importKey: the JWK's private key does not match its public key")
		}
		return describeKey(alg, priv, curve)
	case k.Kty == "OKP" && alg == "Ed25519":
		if k.Crv != "Ed25519" {
			return nil, dataError("importKey: the JWK's curve is %q, not Ed25519", k.Crv)
		}
		x, err := b64("x", k.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, dataError("importKey: the JWK's x is not %d bytes", ed25519.PublicKeySize)
		}
		if k.D == "" {
			return describeKey(alg, ed25519.PublicKey(x), curve)
		}
		d, err := b64("d", k.D)
		if err != nil {
			return nil, err
		}
		if len(d) != ed25519.SeedSize {
			return nil, dataError("importKey: the JWK's d is not %d bytes", ed25519.SeedSize)
		}
		priv := ed25519.NewKeyFromSeed(d)
		if !hmac.Equal(priv.Public().(ed25519.PublicKey), x) {
			return nil, dataError("importKey: the JWK's private key does not match its public key")
		}
		return describeKey(alg, priv, curve)
	case k.Kty == "RSA" && (alg == "RSASSA-PKCS1-v1_5" || alg == "RSA-PSS"):
		n, err := b64("n", k.N)
		if err != nil {
			return nil, err
		}
		e, err := b64("e", k.E)
		if err != nil {
			return nil, err
		}
		if len(e) > 4 {
			return nil, dataError("importKey: the JWK's public exponent is too large")
		}
		pub := rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if k.D == "" {
			return describeKey(alg, &pub, curve)
		}
		if k.P == "" || k.Q == "" {
			return nil, dataError("importKey: an RSA private JWK needs p and q")
		}
		var ints [3]*big.Int
		for i, f := range []struct{ name, v string }{{"d", k.D}, {"p", k.P}, {"q", k.Q}} {
			b, err := b64(f.name, f.v)
			if err != nil {
				return nil, err
			}
			ints[i] = new(big.Int).SetBytes(b)
		}
		priv := &rsa.PrivateKey{PublicKey: pub, D: ints[0], Primes: []*big.Int{ints[1], ints[2]}}
		if err := priv.Validate(); err != nil {
			return nil, dataError("importKey: the JWK is not a valid RSA private key")
		}
		priv.Precompute()
		return describeKey(alg, priv, curve)
	}
	return nil, dataError("importKey: a JWK of kty %q is not an %s key", k.Kty, alg)
}

// exportJWK returns the JWK of a key held as DER, as JSON text.
func exportJWK(der []byte, private bool) (string, error) {
	var key any
	var err error
	if private {
		key, err = x509.ParsePKCS8PrivateKey(der)
	} else {
		key, err = x509.ParsePKIXPublicKey(der)
	}
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding.EncodeToString
	var k jwk
	switch key := key.(type) {
	case *ecdsa.PublicKey:
		k = ecJWK(key)
	case *ecdsa.PrivateKey:
		k = ecJWK(&key.PublicKey)
		d, err := key.Bytes()
		if err != nil {
			return "", err
		}
		k.D = enc(d)
	case *rsa.PublicKey:
		k = jwk{Kty: "RSA", N: enc(key.N.Bytes()), E: enc(big.NewInt(int64(key.E)).Bytes())}
	case *rsa.PrivateKey:
		key.Precompute()
		k = jwk{Kty: "RSA", N: enc(key.N.Bytes()), E: enc(big.NewInt(int64(key.E)).Bytes()),
			D: enc(key.D.Bytes()), P: enc(key.Primes[0].Bytes()), Q: enc(key.Primes[1].Bytes()),
			DP: enc(key.Precomputed.Dp.Bytes()), DQ: enc(key.Precomputed.Dq.Bytes()), QI: enc(key.Precomputed.Qinv.Bytes())}
	case ed25519.PublicKey:
		k = jwk{Kty: "OKP", Crv: "Ed25519", X: enc(key)}
	case ed25519.PrivateKey:
		k = jwk{Kty: "OKP", Crv: "Ed25519", X: enc(key.Public().(ed25519.PublicKey)), D: enc(key.Seed())}
	default:
		return "", fmt.Errorf("unsupported key type %T", key)
	}
	b, err := json.Marshal(k)
	return string(b), err
}

func ecJWK(p *ecdsa.PublicKey) jwk {
	raw, _ := p.Bytes() // 0x04 || x || y
	size := (len(raw) - 1) / 2
	enc := base64.RawURLEncoding.EncodeToString
	return jwk{Kty: "EC", Crv: p.Curve.Params().Name, X: enc(raw[1 : 1+size]), Y: enc(raw[1+size:])}
}

// rawPublic returns a public key in the raw format: an uncompressed point
// for ECDSA, the 32 bytes of an Ed25519 key.
func rawPublic(der []byte) ([]byte, error) {
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	switch key := key.(type) {
	case *ecdsa.PublicKey:
		return key.Bytes()
	case ed25519.PublicKey:
		return key, nil
	}
	return nil, &keyError{"InvalidAccessError", "exportKey: the raw format holds only ECDSA and Ed25519 public keys"}
}

// digestOf hashes data with the hash named h.
func digestOf(h string, data []byte) (crypto.Hash, []byte, error) {
	ch, ok := hashes[h]
	if !ok {
		return 0, nil, &keyError{"NotSupportedError", "unsupported hash " + h}
	}
	d := ch.New()
	d.Write(data)
	return ch, d.Sum(nil), nil
}

// sign signs data with the private key der by algorithm alg, hashing with
// h (ECDSA, RSA) and a salt of saltLength bytes (RSA-PSS). An ECDSA
// signature is r and s, each as long as the curve's order, one after the
// other, as Web Crypto specifies (not ASN.1).
func sign(alg, h string, der, data []byte, saltLength int) ([]byte, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	if alg == "Ed25519" {
		return ed25519.Sign(key.(ed25519.PrivateKey), data), nil
	}
	ch, digest, err := digestOf(h, data)
	if err != nil {
		return nil, err
	}
	switch alg {
	case "ECDSA":
		priv := key.(*ecdsa.PrivateKey)
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest)
		if err != nil {
			return nil, err
		}
		size := (priv.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig, nil
	case "RSASSA-PKCS1-v1_5":
		return rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), ch, digest)
	case "RSA-PSS":
		return rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), ch, digest, &rsa.PSSOptions{SaltLength: saltLength})
	}
	return nil, &keyError{"NotSupportedError", "sign: unsupported algorithm " + alg}
}

// verify reports whether sig is a signature of data under the public key
// der, as sign makes them.
func verify(alg, h string, der, sig, data []byte, saltLength int) (bool, error) {
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return false, err
	}
	if alg == "Ed25519" {
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(key.(ed25519.PublicKey), data, sig), nil
	}
	ch, digest, err := digestOf(h, data)
	if err != nil {
		return false, err
	}
	switch alg {
	case "ECDSA":
		pub := key.(*ecdsa.PublicKey)
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false, nil
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest, r, s), nil
	case "RSASSA-PKCS1-v1_5":
		return rsa.VerifyPKCS1v15(key.(*rsa.PublicKey), ch, digest, sig) == nil, nil
	case "RSA-PSS":
		return rsa.VerifyPSS(key.(*rsa.PublicKey), ch, digest, sig, &rsa.PSSOptions{SaltLength: saltLength}) == nil, nil
	}
	return false, &keyError{"NotSupportedError", "verify: unsupported algorithm " + alg}
}

// generate makes a key pair of alg: on curve for ECDSA, of bits with the
// public exponent exponent for RSA.
func generate(alg, curve string, bits int, exponent []byte) (pub, priv []byte, err error) {
	var key crypto.Signer
	switch alg {
	case "ECDSA":
		c, ok := curves[curve]
		if !ok {
			return nil, nil, &keyError{"NotSupportedError", "generateKey: unsupported curve " + curve}
		}
		key, err = ecdsa.GenerateKey(c, rand.Reader)
	case "Ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case "RSASSA-PKCS1-v1_5", "RSA-PSS":
		if e := new(big.Int).SetBytes(exponent); e.Cmp(big.NewInt(65537)) != 0 {
			return nil, nil, &keyError{"OperationError", "generateKey: the public exponent must be 65537"}
		}
		if bits < 2048 || bits > 4096 || bits%8 != 0 {
			return nil, nil, &keyError{"OperationError", "generateKey: modulusLength must be a multiple of 8 from 2048 to 4096"}
		}
		key, err = rsa.GenerateKey(rand.Reader, bits)
	default:
		return nil, nil, &keyError{"NotSupportedError", "generateKey: unsupported algorithm " + alg}
	}
	if err != nil {
		return nil, nil, err
	}
	if priv, err = x509.MarshalPKCS8PrivateKey(key); err != nil {
		return nil, nil, err
	}
	pub, err = x509.MarshalPKIXPublicKey(key.Public())
	return pub, priv, err
}

// defineSubtleKeys adds the natives above to n. A failure throws an Error
// whose name is the Web Crypto exception the prelude should raise
// (DataError, NotSupportedError, OperationError, ...).
func (e *engine) defineSubtleKeys(n *goja.Object) {
	vm := e.vm
	errorCtor, ok := goja.AssertConstructor(vm.Get("Error"))
	if !ok {
		panic("no Error constructor")
	}
	throw := func(err error) {
		kind := "OperationError"
		var ke *keyError
		if errors.As(err, &ke) {
			kind = ke.kind
		}
		obj, cerr := errorCtor(nil, vm.ToValue(err.Error()))
		if cerr != nil {
			panic(cerr)
		}
		must(obj.Set("name", kind))
		panic(obj)
	}
	bytes := e.subtleBytes
	buffer := func(b []byte) goja.Value { return vm.ToValue(vm.NewArrayBuffer(b)) }
	must(n.Set("keyImport", func(c goja.FunctionCall) goja.Value {
		format := c.Argument(1).String()
		var data []byte
		if format == "jwk" {
			data = []byte(c.Argument(2).String())
		} else {
			data = bytes(c.Argument(2))
		}
		im, err := importKey(c.Argument(0).String(), format, data, c.Argument(3).String())
		if err != nil {
			throw(err)
		}
		o := vm.NewObject()
		must(o.Set("der", buffer(im.der)))
		must(o.Set("private", im.private))
		must(o.Set("curve", im.curve))
		must(o.Set("bits", im.bits))
		must(o.Set("exponent", buffer(im.exponent)))
		must(o.Set("secret", im.secretLen > 0))
		return o
	}))
	must(n.Set("keyExportJWK", func(c goja.FunctionCall) goja.Value {
		s, err := exportJWK(bytes(c.Argument(0)), c.Argument(1).ToBoolean())
		if err != nil {
			throw(err)
		}
		return vm.ToValue(s)
	}))
	must(n.Set("keyExportRaw", func(c goja.FunctionCall) goja.Value {
		b, err := rawPublic(bytes(c.Argument(0)))
		if err != nil {
			throw(err)
		}
		return buffer(b)
	}))
	must(n.Set("keySign", func(c goja.FunctionCall) goja.Value {
		sig, err := sign(c.Argument(0).String(), c.Argument(1).String(), bytes(c.Argument(2)), bytes(c.Argument(3)), int(c.Argument(4).ToInteger()))
		if err != nil {
			throw(err)
		}
		return buffer(sig)
	}))
	must(n.Set("keyVerify", func(c goja.FunctionCall) goja.Value {
		ok, err := verify(c.Argument(0).String(), c.Argument(1).String(), bytes(c.Argument(2)), bytes(c.Argument(3)), bytes(c.Argument(4)), int(c.Argument(5).ToInteger()))
		if err != nil {
			throw(err)
		}
		return vm.ToValue(ok)
	}))
	must(n.Set("keyGenerate", func(c goja.FunctionCall) goja.Value {
		pub, priv, err := generate(c.Argument(0).String(), c.Argument(1).String(), int(c.Argument(2).ToInteger()), bytes(c.Argument(3)))
		if err != nil {
			throw(err)
		}
		o := vm.NewObject()
		must(o.Set("public", buffer(pub)))
		must(o.Set("private", buffer(priv)))
		return o
	}))
	must(n.Set("randomBytes", func(c goja.FunctionCall) goja.Value {
		b := make([]byte, c.Argument(0).ToInteger())
		rand.Read(b)
		return buffer(b)
	}))
}
