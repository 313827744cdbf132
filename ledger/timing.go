package ledger

import (
	"log/slog"
	"time"

	"github.com/licensing-ledger/ledger/domain"
)

// DefaultSlowCommand is how long a command may take before the service
// logs where its time went: a command normally takes milliseconds, so one
// that takes a second waited for something, and the warning says what.
const DefaultSlowCommand = time.Second

// timing is where one command's time went, for the slow-command warning.
// Each phase adds up over the command's attempts. Recording it costs a
// reading of the clock per phase.
type timing struct {
	now   func() time.Time
	start time.Time
	last  time.Time // the end of the last phase recorded
	// lock is the wait for the tenant's lock, behind its other commands
	// and loads in this process; load reads the store (catching up with
	// the tenant's stream, reading a replayed command's events); decide
	// authorizes, decides and wraps the events; append is the store's
	// appends, tries included; commit applies the stored events to the
	// aggregate and hands them to the read models (Options.Committed).
	lock, load, decide, append, commit time.Duration
	// attempts counts the decisions: one, and one more per lost race or
	// stale state.
	attempts int
	// appendTries counts the calls of the store's Append, retries
	// included; appendErr is the last one that failed, if any.
	appendTries int
	appendErr   error
}

// startTiming starts timing a command.
func startTiming(now func() time.Time) timing {
	t := now()
	return timing{now: now, start: t, last: t}
}

// lap ends a phase: the time since the last one ended goes to it.
func (t *timing) lap(phase *time.Duration) {
	now := t.now()
	*phase += now.Sub(t.last)
	t.last = now
}

// logIfSlow logs a warning with the command's phases when it took at least
// the threshold (never when the threshold is negative).
func (t *timing) logIfSlow(log *slog.Logger, threshold time.Duration, c Command, err error) {
	if threshold < 0 {
		return
	}
	took := t.now().Sub(t.start)
	if took < threshold {
		return
	}
	attrs := []any{
		"tenant", c.Tenant, "command", c.ID, "type", domain.CommandName(c.Message), "took", took,
		"lock", t.lock, "load", t.load, "decide", t.decide, "append", t.append, "commit", t.commit,
		"attempts", t.attempts, "append_tries", t.appendTries,
	}
	if t.appendErr != nil {
		attrs = append(attrs, "append_err", t.appendErr)
	}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	log.Warn("slow command", attrs...)
}
