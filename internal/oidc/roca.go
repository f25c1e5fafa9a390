package oidc

import (
	"crypto/rsa"
	"math/big"
)

// The ROCA weakness (CVE-2017-15361; Nemec, Sýs, Švenda, Klinec and Matyáš,
// "The Return of Coppersmith's Attack", ACM CCS 2017): Infineon's RSALib
// made each prime p as k·M + (65537^a mod M), where M is the product of the
// first primes, and such moduli can be factored far faster than random
// ones. The modulus N = p·q is then a power of 65537 modulo every prime
// that divides M, which a random modulus almost never is.
//
// For keys of 1984 bits and more (pave accepts 2048 and more), M is a
// multiple of every prime up to 701. Testing N against the 125 odd ones
// flags every RSALib key of those sizes; a random modulus passes all of
// them with a probability of about 2^-167.
const rocaMaxPrime = 701

// rocaPowers lists, for each odd prime up to rocaMaxPrime, which residues
// modulo that prime are powers of 65537.
var rocaPrimes, rocaPowers = rocaTables()

func rocaTables() ([]int64, [][]bool) {
	var primes []int64
	var powers [][]bool
	for p := int64(3); p <= rocaMaxPrime; p += 2 {
		prime := true
		for d := int64(3); d*d <= p; d += 2 {
			prime = prime && p%d != 0
		}
		if !prime {
			continue
		}
		set := make([]bool, p)
		for x := int64(1); !set[x]; x = x * 65537 % p {
			set[x] = true
		}
		primes, powers = append(primes, p), append(powers, set)
	}
	return primes, powers
}

// hasROCAFingerprint reports whether n has the form of an RSALib modulus.
func hasROCAFingerprint(n *big.Int) bool {
	var p, r big.Int
	for i, prime := range rocaPrimes {
		r.Mod(n, p.SetInt64(prime))
		if !rocaPowers[i][r.Int64()] {
			return false
		}
	}
	return true
}

// usableRSAKey reports whether k is an RSA key pave verifies with: a
// modulus of at least MinRSABits without the ROCA fingerprint, and an odd
// public exponent of at least 3 (with e = 1 a signature is the message
// itself, which anyone can produce).
func usableRSAKey(k *rsa.PublicKey) bool {
	return k.N.BitLen() >= MinRSABits && k.E >= 3 && k.E%2 == 1 && !hasROCAFingerprint(k.N)
}
