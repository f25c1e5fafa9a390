package webhook

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file parses the signature headers. The parsers return plain errors
// that describe the form expected and never quote the input; Verify wraps
// them with a sentinel and the header's name.

// maxTimestampDigits bounds a timestamp so that it fits an int64 with room
// to add a tolerance.
const maxTimestampDigits = 15

// parseTimestamp parses Unix seconds written as 1 to 15 ASCII digits: no
// sign, no spaces, no fraction.
func parseTimestamp(s string) (int64, error) {
	if s == "" || len(s) > maxTimestampDigits {
		return 0, fmt.Errorf("timestamp must be 1 to %d digits of Unix seconds", maxTimestampDigits)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("timestamp must be decimal Unix seconds")
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// parseHexSig decodes a hex SHA-256 signature (either case).
func parseHexSig(s string) ([]byte, error) {
	if len(s) != 2*sha256.Size {
		return nil, fmt.Errorf("signature must be %d hex digits", 2*sha256.Size)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("signature is not hex")
	}
	return b, nil
}

// parsePrefixedHex decodes "<prefix><hex>", as in GitHub's "sha256=<hex>"
// and Slack's "v0=<hex>".
func parsePrefixedHex(s, prefix string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return nil, fmt.Errorf("signature must start with %s", prefix)
	}
	return parseHexSig(rest)
}

// parseGenericHex decodes the generic scheme's "<hex>" or "sha256=<hex>".
func parseGenericHex(s string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(s, "sha256="); ok {
		return parseHexSig(rest)
	}
	if strings.Contains(s, "=") {
		return nil, errors.New("only sha256 signatures are accepted")
	}
	return parseHexSig(s)
}

// stripeHeader is a parsed Stripe-Signature header.
type stripeHeader struct {
	tsText string
	ts     int64
	v1     [][]byte
	others int // elements of other versions (v0, ...), which are ignored
}

// parseStripe parses "t=<unix>,v1=<hex>[,v1=<hex>...]" with elements of
// other versions allowed and ignored. Exactly one t is required, every
// element is key=value, and at most MaxSignatures elements are signatures.
// A header without any v1 fails with errMissingV1.
func parseStripe(s string) (stripeHeader, error) {
	var h stripeHeader
	if len(s) > MaxHeaderLen {
		return h, fmt.Errorf("longer than %d bytes", MaxHeaderLen)
	}
	haveT := false
	for elem := range strings.SplitSeq(s, ",") {
		k, val, ok := strings.Cut(elem, "=")
		if !ok || !isStripeKey(k) || val == "" {
			return h, errors.New("every element must be key=value with a key of lowercase letters and digits")
		}
		if k == "t" {
			if haveT {
				return h, errors.New("more than one t")
			}
			ts, err := parseTimestamp(val)
			if err != nil {
				return h, err
			}
			h.ts, h.tsText, haveT = ts, val, true
			continue
		}
		if len(h.v1)+h.others == MaxSignatures {
			return h, fmt.Errorf("more than %d signatures", MaxSignatures)
		}
		if k != "v1" {
			h.others++
			continue
		}
		sig, err := parseHexSig(val)
		if err != nil {
			return h, err
		}
		h.v1 = append(h.v1, sig)
	}
	if !haveT {
		return h, errors.New("no t (timestamp) element")
	}
	if len(h.v1) == 0 {
		return h, errMissingV1
	}
	return h, nil
}

func isStripeKey(k string) bool {
	if k == "" || len(k) > 8 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if (k[i] < 'a' || k[i] > 'z') && (k[i] < '0' || k[i] > '9') {
			return false
		}
	}
	return true
}

// parseStandardSignatures parses a webhook-signature header: entries
// "<version>,<base64>" separated by single spaces. Entries of versions
// other than v1 (such as v1a, asymmetric) are ignored; at most
// MaxSignatures entries in all. A header without any v1 fails with
// errMissingV1.
func parseStandardSignatures(s string) ([][]byte, error) {
	if len(s) > MaxHeaderLen {
		return nil, fmt.Errorf("longer than %d bytes", MaxHeaderLen)
	}
	var sigs [][]byte
	n := 0
	for entry := range strings.SplitSeq(s, " ") {
		n++
		if n > MaxSignatures {
			return nil, fmt.Errorf("more than %d signatures", MaxSignatures)
		}
		ver, val, ok := strings.Cut(entry, ",")
		if !ok || ver == "" || val == "" {
			return nil, errors.New("every signature must be <version>,<base64>")
		}
		if ver != "v1" {
			continue
		}
		// Strict: one encoding per signature, no stray padding bits.
		sig, err := base64.StdEncoding.Strict().DecodeString(val)
		if err != nil {
			return nil, errors.New("signature is not base64")
		}
		if len(sig) != sha256.Size {
			return nil, fmt.Errorf("signature must be %d bytes", sha256.Size)
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return nil, errMissingV1
	}
	return sigs, nil
}

// checkID accepts 1 to MaxIDLen bytes of printable ASCII without spaces.
// noDot refuses '.', which separates the parts of Standard Webhooks'
// signed content "<id>.<timestamp>.<body>": with a dot in the id, one
// signed string could be read as a different id, timestamp and body.
func checkID(s string, noDot bool) error {
	if s == "" || len(s) > MaxIDLen {
		return fmt.Errorf("delivery id must be 1 to %d bytes", MaxIDLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return errors.New("delivery id must be printable ASCII without spaces")
		}
		if noDot && s[i] == '.' {
			return errors.New("delivery id must not contain '.'")
		}
	}
	return nil
}
