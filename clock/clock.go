// Package clock gives berth its time as an interface: the real clock, built on
// package time (so it also runs on virtual time inside a testing/synctest
// bubble), and a manual clock that tests advance by hand.
//
// Protocol cores never read a clock: they take `now` as an argument and report
// their next deadline. Only the stack arms timers, through a Clock.
package clock

import "time"

// Clock tells the time and runs functions later.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (real clock) or inside
	// Advance (manual clock) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call; it reports whether the timer was pending.
	Stop() bool
	// Reset re-arms the timer to fire after d; it reports whether the
	// timer was pending.
	Reset(d time.Duration) bool
}

// Real is the clock of package time.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
