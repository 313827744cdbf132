// Command ledgerbench measures the ledger against its performance targets
// and prints one table: commands per second and latency in process and over
// HTTP with each durability, raw JetStream publishes of the same size and
// concurrency beside them, queries under that load, rebuilding the read
// models from a million events, the first command on a tenant of 100,000
// events with and without a snapshot, and the memory of a ledger holding a
// million assignments. Every part drives the real service over an embedded
// NATS server, as ledgerd runs it. Figures never fail the run: each row says
// whether its target is met.
//
//	go run ./cmd/ledgerbench                   # about four minutes on 2 CPUs
//	go run ./cmd/ledgerbench --smoke           # seconds, tiny sizes
//	go run ./cmd/ledgerbench --sections fsync  # the study of group commit under fsync
//
// Progress goes to stderr, the table to stdout. docs/PERFORMANCE.md holds
// the results and what they led to.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

// The sections of the table, in the order they are printed.
const (
	secRatios   = "ratios"
	secCommands = "commands"
	secStorage  = "storage"
	secQueries  = "queries"
	secTail     = "query tail"
	secReplay   = "replay"
	secCold     = "cold load"
	secMemory   = "memory"
	secFsync    = "fsync study"
)

var sectionOrder = []string{secRatios, secCommands, secStorage, secQueries, secTail, secReplay, secCold, secMemory, secFsync}

func main() {
	log := newLogger(os.Getenv("LEDGERBENCH_DEBUG") != "")
	if isMemoryChild() {
		if err := memoryChild(log); err != nil {
			log.Error("memory child failed", "err", err)
			os.Exit(1)
		}
		return
	}
	if isReadersChild() {
		if err := readersChild(); err != nil {
			log.Error("readers' child failed", "err", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli(ctx, os.Args[1:], os.Stdout, log))
}

// cli runs the benchmark with the command line args and returns the exit
// code: 0 whatever the figures, 1 when the run itself failed, 2 for bad
// flags.
func cli(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) int {
	cfg, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerbench:", err)
		return 2
	}
	if cfg.verbose {
		log = newLogger(true)
	}
	if err := run(ctx, cfg, stdout, log); err != nil {
		log.Error("ledgerbench failed", "err", err)
		return 1
	}
	return 0
}

// run measures every section the configuration asks for and prints the
// table.
func run(ctx context.Context, cfg config, stdout io.Writer, log *slog.Logger) error {
	if cfg.cpuProfile != "" {
		stop, err := startProfile(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	dir, cleanup, err := cfg.workDir()
	if err != nil {
		return err
	}
	defer cleanup()
	start, load := time.Now(), loadAverage()
	log.Info("ledgerbench starting", "machine", machine(), "load average", load, "dir", dir)
	t := &table{}
	if err := runSections(ctx, cfg, dir, t, log); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ledgerbench %s: %s; load average %s at the start, %s at the end; %s\n\n",
		time.Now().Format("2006-01-02 15:04"), machine(), load, loadAverage(), sizes(cfg))
	t.sort(sectionOrder)
	if err := t.print(stdout); err != nil {
		return err
	}
	log.Info("ledgerbench done", "took", time.Since(start).Round(time.Second))
	return nil
}

// runSections runs the sections in turn.
func runSections(ctx context.Context, cfg config, dir string, t *table, log *slog.Logger) error {
	if cfg.sections["commands"] {
		for _, d := range cfg.durabilities {
			if err := commandSection(ctx, cfg, dir, d, t, log); err != nil {
				return fmt.Errorf("commands, %s durability: %w", d.name, err)
			}
		}
	}
	if cfg.sections["replay"] || cfg.sections["memory"] {
		if err := datasetSections(ctx, cfg, dir, t, log); err != nil {
			return err
		}
	}
	if cfg.sections["coldload"] {
		if err := coldSection(ctx, cfg, dir, t, log); err != nil {
			return fmt.Errorf("cold load: %w", err)
		}
	}
	if cfg.sections["fsync"] {
		if err := fsyncSection(ctx, cfg, dir, t, log); err != nil {
			return fmt.Errorf("fsync study: %w", err)
		}
	}
	return nil
}

// datasetSections writes the big data set once and measures the replay
// and the memory over it.
func datasetSections(ctx context.Context, cfg config, dir string, t *table, log *slog.Logger) error {
	ds, err := buildDataset(ctx, cfg, dir, log)
	if err != nil {
		return fmt.Errorf("replay data set: %w", err)
	}
	defer ds.srv.close()
	if cfg.sections["replay"] {
		took, err := measureReplay(ctx, ds, log)
		if err != nil {
			return err
		}
		reportReplay(t, ds, took)
	}
	if cfg.sections["memory"] {
		rep, err := measureMemory(ctx, ds, log)
		if err != nil {
			return err
		}
		reportMemory(t, ds, rep)
	}
	return nil
}

// sizes describes the run's configuration in one line.
func sizes(cfg config) string {
	s := fmt.Sprintf("%s per command run after %s warm-up, %d tenants, %d clients, %d users per tenant, %d readers",
		cfg.duration, cfg.warmup, cfg.tenants, cfg.clients, cfg.users, cfg.readers)
	if !cfg.forward {
		s += "; WITHOUT the forwarder (--forward=false): nothing is published to LEDGER"
	}
	return s
}

// startProfile writes a CPU profile until the returned function is called.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// newLogger logs progress to stderr.
func newLogger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
