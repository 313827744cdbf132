package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/licensing-ledger/ledger/domain"
)

// The environment that makes the program a memory child instead of a
// benchmark: the NATS server to load from and the number of tenants.
const (
	childURLEnv     = "LEDGERBENCH_MEMORY_NATS"
	childTenantsEnv = "LEDGERBENCH_MEMORY_TENANTS"
	// heapProfileEnv names a file the child writes its heap profile to,
	// for go tool pprof.
	heapProfileEnv = "LEDGERBENCH_HEAPPROFILE"
)

// memoryReport is what a memory child measured, sent back as JSON.
type memoryReport struct {
	RSS       uint64        `json:"rss"`
	HeapInuse uint64        `json:"heapInuse"`
	Load      time.Duration `json:"load"`
}

// measureMemory starts a child process that loads the data set the way a
// ledger does (every tenant's write model and every read model) and reports
// its resident memory, so that nothing else this program holds counts.
func measureMemory(ctx context.Context, ds *dataset, log *slog.Logger) (memoryReport, error) {
	exe, err := os.Executable()
	if err != nil {
		return memoryReport{}, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), childURLEnv+"="+ds.srv.url(), childTenantsEnv+"="+strconv.Itoa(ds.tenants))
	cmd.Stderr = os.Stderr
	log.Info("memory: starting a ledger process over the data set", "tenants", ds.tenants)
	out, err := cmd.Output()
	if err != nil {
		return memoryReport{}, fmt.Errorf("memory child: %w", err)
	}
	var rep memoryReport
	if err := json.Unmarshal(lastLine(out), &rep); err != nil {
		return memoryReport{}, fmt.Errorf("memory child answered %q: %w", out, err)
	}
	return rep, nil
}

// reportMemory adds the memory row.
func reportMemory(t *table, ds *dataset, rep memoryReport) {
	note := fmt.Sprintf("%s tenants, %s assignments, %s events; write models and read models loaded in %s; Go heap %s; the NATS server runs in another process",
		thousands(float64(ds.tenants)), thousands(float64(ds.assigns)), thousands(float64(ds.events)), ms(rep.Load), mib(float64(rep.HeapInuse)))
	t.below(secMemory, "resident memory (VmRSS)", float64(rep.RSS), 512<<20, mib, note)
}

// isMemoryChild reports whether the program runs as a memory child.
func isMemoryChild() bool { return os.Getenv(childURLEnv) != "" }

// memoryChild is the child's whole life: load, measure, print the report.
func memoryChild(log *slog.Logger) error {
	n, err := strconv.Atoi(os.Getenv(childTenantsEnv))
	if err != nil {
		return fmt.Errorf("%s: %w", childTenantsEnv, err)
	}
	ctx := context.Background()
	nc, err := nats.Connect(os.Getenv(childURLEnv), nats.Name("ledgerbench-memory"))
	if err != nil {
		return err
	}
	defer nc.Close()
	start := time.Now()
	// No forwarder: it keeps nothing that grows with the ledger, and here it
	// would be forwarding the whole data set, which the store received
	// directly, while the memory is measured.
	r, err := newRig(ctx, nc, "", false, log)
	if err != nil {
		return err
	}
	defer r.close()
	if err := loadEverything(ctx, r, n); err != nil {
		return err
	}
	rep, err := measureResident(time.Since(start))
	runtime.KeepAlive(r)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// measureResident collects the garbage, returns memory to the system and
// reads what stays resident.
func measureResident(load time.Duration) (memoryReport, error) {
	rep := memoryReport{Load: load}
	runtime.GC()
	debug.FreeOSMemory()
	var err error
	if rep.RSS, err = residentBytes(); err != nil {
		return rep, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapInuse = ms.HeapInuse
	return rep, writeHeapProfile(os.Getenv(heapProfileEnv))
}

// loadEverything waits for the read models to catch up and loads every
// tenant's write model into the command service.
func loadEverything(ctx context.Context, r *rig, tenants int) error {
	if err := r.projector.WaitCaughtUp(ctx); err != nil {
		return err
	}
	return forEach(ctx, tenants, 8, func(i int) error {
		id := datasetTenant(i)
		admin := domain.Principal{ID: "admin", Tenant: id, Roles: []domain.Role{domain.GlobalAdministrator}}
		return r.svc.Authorize(ctx, id, admin, domain.QueryLicenses, "")
	})
}

// writeHeapProfile writes the heap profile to path, if one is given.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.WriteHeapProfile(f)
}

// lastLine returns the last non-empty line of out.
func lastLine(out []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	return lines[len(lines)-1]
}
