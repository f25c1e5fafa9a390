package posture

import (
	"fmt"
	"strings"
)

// A Severity ranks a finding. The zero value is not a severity; the
// named ones are ordered, SeverityInfo lowest.
type Severity int

// Severities, lowest first.
const (
	SeverityInfo Severity = iota + 1
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{
	SeverityInfo:     "info",
	SeverityLow:      "low",
	SeverityMedium:   "medium",
	SeverityHigh:     "high",
	SeverityCritical: "critical",
}

// Severities returns every severity, lowest first.
func Severities() []Severity {
	return []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
}

// String returns the severity's name: "info", "low", "medium", "high" or
// "critical".
func (s Severity) String() string {
	if s.valid() {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

func (s Severity) valid() bool { return s >= SeverityInfo && s <= SeverityCritical }

// ParseSeverity parses a severity's name, in any case and with
// surrounding spaces ignored, as a --fail-on flag gives it.
func ParseSeverity(s string) (Severity, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, sev := range Severities() {
		if sev.String() == name {
			return sev, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: use info, low, medium, high or critical", s)
}

// MarshalText encodes s as its name.
func (s Severity) MarshalText() ([]byte, error) {
	if !s.valid() {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// sarifLevel maps a severity to a SARIF result level.
func (s Severity) sarifLevel() string {
	switch {
	case s >= SeverityHigh:
		return "error"
	case s == SeverityMedium:
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity is the CVSS-like score GitHub code scanning reads from
// a rule's "security-severity" property: critical above 9, high from 7,
// medium from 4, low below.
func (s Severity) securitySeverity() string {
	switch s {
	case SeverityCritical:
		return "9.5"
	case SeverityHigh:
		return "8.0"
	case SeverityMedium:
		return "5.5"
	case SeverityLow:
		return "3.0"
	}
	return "0.0"
}
