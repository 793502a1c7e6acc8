// Package quamina stands in for quamina.net/go/quamina, which the Go module
// proxy reachable here refuses (403 "This module version is not available").
// It is written for genesis and holds none of quamina's code: every call fails
// with ErrUnavailable. The upstream Tinkerbell workflow controller calls
// quamina only to apply allow/deny rules to a Hardware's spec.references;
// genesis writes no references, so the paths the tests exercise never reach
// it, and a Hardware with references makes the controller report the error
// (docs/testworld.md, "Tinkerbell controller").
package quamina

import "errors"

// ErrUnavailable is returned by every function of this package.
var ErrUnavailable = errors.New("quamina.net/go/quamina is not available in the genesis test world (the module proxy refuses it): Hardware spec.references rules cannot be evaluated")

// X is the type of the values patterns are added with and matches return.
type X any

// Option configures New.
type Option func(*Quamina) error

// Quamina is the rule engine handle.
type Quamina struct{}

// New fails with ErrUnavailable.
func New(_ ...Option) (*Quamina, error) { return nil, ErrUnavailable }

// AddPattern fails with ErrUnavailable.
func (*Quamina) AddPattern(_ X, _ string) error { return ErrUnavailable }

// MatchesForEvent fails with ErrUnavailable.
func (*Quamina) MatchesForEvent(_ []byte) ([]X, error) { return nil, ErrUnavailable }
