package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// The event stores --store chooses from.
const (
	storeJetStream = "jetstream"
)

// The sections of a run, in the order they run; the default run leaves out
// the fsync study.
var (
	allSections     = []string{"commands", "replay", "memory", "coldload", "fsync"}
	defaultSections = allSections[:4]
)

// config is the command line: the sizes of every section.
type config struct {
	duration   time.Duration // measured time of each command run
	warmup     time.Duration // unmeasured time before it
	tenants    int           // tenants the command runs spread over
	clients    int           // concurrent command clients
	users      int           // users per tenant in the command runs
	readers    int           // concurrent query clients during the HTTP run
	natsServer string        // nats-server binary for the command runs; empty: embedded
	queryRate  float64       // queries per second over all readers; 0: as fast as answered
	store      string
	dir        string // where the embedded servers keep their files

	replayTenants     int // tenants of the replay and memory data set
	replayAssignments int // assignments per tenant in that data set
	commitEvents      int // events per append when generating data sets
	coldEvents        int // events of the cold-load tenant
	coldCommit        int // events per append of the cold-load tenant
	coldRepeats       int // cold loads measured; the median is reported

	pairs        int           // alternating pairs of runs with the forwarder on and off
	pairDuration time.Duration // measured time of each run of those pairs
	tailLevers   []tailLever   // levers on the query tail to try in pairs (--tail-lever)

	sections     map[string]bool
	durabilities []durability
	http         bool // measure over HTTP too
	forward      bool // run the forwarder during the command runs
	checkpoints  bool // run the checkpoint issuer during the command runs
	smoke        bool
	cpuProfile   string
	verbose      bool
}

// parseFlags reads the command line; --smoke replaces the sizes with tiny
// ones, for a run of seconds.
func parseFlags(args []string) (config, error) {
	var c config
	var sections, durable, levers string
	fs := flag.NewFlagSet("ledgerbench", flag.ContinueOnError)
	fs.DurationVar(&c.duration, "duration", 15*time.Second, "measured time of each command run (in process and HTTP, for each durability)")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured time before each command run")
	fs.IntVar(&c.tenants, "tenants", 100, "tenants the commands spread over")
	fs.IntVar(&c.clients, "clients", 32, "concurrent command clients; each owns tenants/clients tenants")
	fs.IntVar(&c.users, "users", 200, "users per tenant in the command runs")
	fs.IntVar(&c.readers, "readers", 2, "concurrent query clients during the HTTP run")
	fs.Float64Var(&c.queryRate, "query-rate", 3000, "queries per second the readers send between them, on a fixed schedule; 0 sends each as soon as the last is answered")
	fs.StringVar(&c.natsServer, "nats-server", "", "path of a nats-server binary: the command runs use it in a process of its own (as when NATS runs on other machines) instead of the embedded server, and the CPU per command is split between the two")
	fs.StringVar(&c.store, "store", storeJetStream, "event store: jetstream (an embedded NATS server per run)")
	fs.StringVar(&c.dir, "dir", "", "directory for the embedded servers' files (default: a new temporary directory, removed at the end)")
	fs.IntVar(&c.replayTenants, "replay-tenants", 1000, "tenants of the replay and memory data set")
	fs.IntVar(&c.replayAssignments, "replay-assignments", 1000, "license assignments per tenant of the replay and memory data set")
	fs.IntVar(&c.commitEvents, "commit-events", 250, "events per append when generating the replay data set")
	fs.IntVar(&c.coldEvents, "cold-events", 100_000, "events of the tenant loaded cold")
	fs.IntVar(&c.coldCommit, "cold-commit", 0, "events per append of the cold tenant; 0 appends each command on its own, as the command service does")
	fs.IntVar(&c.coldRepeats, "cold-repeats", 5, "cold loads measured, each by a new service; the median is reported")
	fs.StringVar(&sections, "sections", strings.Join(defaultSections, ","), "sections to run, of "+strings.Join(allSections, ",")+" (fsync: a study of group commit under fsync)")
	fs.StringVar(&durable, "durability", "default,fsync", "durabilities of the command runs: default (written to the OS), fsync (fsynced before acknowledged)")
	fs.BoolVar(&c.http, "http", true, "measure the commands over HTTP too (and the queries)")
	fs.BoolVar(&c.checkpoints, "checkpoints", true, "run the checkpoint issuer (L8) during the command runs, as ledgerd does; false measures the commands without it")
	fs.BoolVar(&c.forward, "forward", true, "run the forwarder, which publishes every event into the LEDGER stream, during the command runs, as ledgerd does; false measures the commands without it, to see what publication costs")
	fs.IntVar(&c.pairs, "pairs", 2, "alternating pairs behind each ratio (forwarder on and off; ledger and same-work raw; ledger and raw fsync publishes; HTTP and in process; queries idle and loaded); 0 skips them")
	fs.DurationVar(&c.pairDuration, "pair-duration", 5*time.Second, "measured time of each run of those pairs")
	fs.StringVar(&levers, "tail-lever", "", "levers on the query tail to try, comma-separated, each in --pairs alternating pairs of loaded query windows without and with it: listener (the readers on a listener of their own), gogc=N (debug.SetGCPercent(N)), limit=N (at most N commands executing at once in the HTTP server)")
	fs.BoolVar(&c.smoke, "smoke", false, "a seconds-long run with tiny sizes, to check that everything works")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.BoolVar(&c.verbose, "v", false, "log debug lines")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if c.sections, err = parseSections(sections); err != nil {
		return c, err
	}
	if c.durabilities, err = parseDurabilities(durable); err != nil {
		return c, err
	}
	if c.tailLevers, err = parseLevers(levers); err != nil {
		return c, err
	}
	if c.smoke {
		c.shrink()
	}
	return c, c.check()
}

// shrink sets the tiny sizes of a smoke run.
func (c *config) shrink() {
	c.duration, c.warmup = time.Second, 200*time.Millisecond
	c.pairDuration = 300 * time.Millisecond
	c.tenants, c.clients, c.users, c.readers = 4, 2, 40, 1
	c.replayTenants, c.replayAssignments, c.commitEvents = 10, 100, 50
	c.coldEvents, c.coldCommit, c.coldRepeats = 2000, 0, 1
}

// parseSections reads a comma-separated list of section names.
func parseSections(list string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allSections, s) {
			return nil, fmt.Errorf("--sections: unknown section %q; want some of %s", s, strings.Join(allSections, ","))
		}
		out[s] = true
	}
	return out, nil
}

// parseDurabilities reads a comma-separated list of durability names.
func parseDurabilities(list string) ([]durability, error) {
	var out []durability
	for _, name := range strings.Split(list, ",") {
		i := slices.IndexFunc(durabilities, func(d durability) bool { return d.name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("--durability: unknown durability %q; want default or fsync", name)
		}
		out = append(out, durabilities[i])
	}
	return out, nil
}

// parseLevers reads a comma-separated list of levers on the query tail.
func parseLevers(list string) ([]tailLever, error) {
	var out []tailLever
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		l, err := parseLever(s)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// check refuses sizes the run cannot work with.
func (c config) check() error {
	switch {
	case c.store != storeJetStream:
		return fmt.Errorf("--store %q: only %s is supported", c.store, storeJetStream)
	case c.duration <= 0:
		return errors.New("--duration must be positive")
	case c.pairs < 0 || (c.pairs > 0 && c.pairDuration <= 0):
		return errors.New("--pairs must not be negative and --pair-duration positive")
	case c.tenants < 1 || c.clients < 1 || c.clients > c.tenants:
		return errors.New("--clients must be between 1 and --tenants: each client owns its tenants")
	case c.users < minUsers:
		return fmt.Errorf("--users must be at least %d (bulk commands name %d users)", minUsers, bulkSize)
	case c.replayTenants < 1 || c.replayAssignments < 1 || c.coldEvents < 1 || c.coldRepeats < 1:
		return errors.New("data set sizes must be positive")
	case c.commitEvents < 1 || c.coldCommit < 0:
		return errors.New("--commit-events must be positive and --cold-commit not negative")
	}
	return nil
}

// workDir returns the directory for the servers' files and a function that
// removes it when it was created for this run.
func (c config) workDir() (string, func(), error) {
	if c.dir != "" {
		return c.dir, func() {}, os.MkdirAll(c.dir, 0o755)
	}
	dir, err := os.MkdirTemp("", "ledgerbench-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}
