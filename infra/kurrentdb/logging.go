package kurrentdb

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// clientLogger sends the esdb client's messages to slog at debug level.
// The client reports routine events (every discovery attempt, every
// subscription ended by its context) as info or errors; the store logs and
// returns the failures that matter itself.
func clientLogger(log *slog.Logger) esdb.LoggingFunc {
	return func(level esdb.LogLevel, format string, args ...any) {
		if !log.Enabled(context.Background(), slog.LevelDebug) {
			return
		}
		log.Debug("kurrentdb client: "+fmt.Sprintf(format, args...), "client_level", level)
	}
}
