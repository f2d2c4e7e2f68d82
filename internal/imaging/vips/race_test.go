//go:build race

package vips

// The race detector reserves shadow memory that a worker capped at a few
// hundred MiB cannot map.
const raceEnabled = true
