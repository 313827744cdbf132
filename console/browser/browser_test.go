// Package browser tests the admin console in a real browser: headless
// Chromium (Debian's chromium package) driven through the DevTools protocol
// by chromedp, against the real ledgerd binary over a real socket. Without
// Chromium the tests are skipped, except in CI (CI=true), where they fail.
// With CONSOLE_SCREENSHOTS=1 they write a screenshot of each page into
// docs/console/ (scripts/screenshots.sh).
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/internal/testbin"
)

const (
	adminToken  = "admin-token-0123456789"
	admin2Token = "admin2-token-0123456789"
	aliceToken  = "alice-token-0123456789"
	agentToken  = "agent-token-0123456789"
	tenant      = "contoso"
)

var (
	ledgerdBin string
	chromium   string
)

func TestMain(m *testing.M) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "console browser tests: no chromium on PATH, and CI=true requires them; run scripts/install-tools.sh")
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "console browser tests: skipped, no chromium on PATH (scripts/install-tools.sh installs it)")
		os.Exit(0)
	}
	bin, remove, err := testbin.Build("../../cmd/ledgerd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ledgerdBin = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// server is a running ledgerd.
type server struct {
	URL string
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startLedgerd(t *testing.T) *server {
	t.Helper()
	data := t.TempDir()
	f := auth.File{Principals: []auth.Entry{
		{ID: "admin@contoso", Tenant: tenant, Roles: []string{"GlobalAdministrator"}, Token: adminToken},
		{ID: "admin2@contoso", Tenant: tenant, Roles: []string{"GlobalAdministrator"}, Token: admin2Token},
		{ID: "alice", Tenant: tenant, Token: aliceToken},
		{ID: "agent@fabrikam", Partner: "fabrikam", Roles: []string{"LicenseAdministrator"}, Token: agentToken},
	}}
	b, _ := json.Marshal(f)
	authFile := filepath.Join(data, "principals.json")
	if err := os.WriteFile(authFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logf, err := os.Create(filepath.Join(data, "ledgerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ledgerdBin, "--data", data, "--listen", addr, "--nats-listen", "", "--auth-file", authFile, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logf.Name())
			t.Logf("ledgerd log:\n%s", log)
		}
	})
	s := &server{URL: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK { // the API is open, its read models rebuilt
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("ledgerd did not become healthy")
	return nil
}

// command sends a command through the API, as a directory sync or another
// admin would.
func (s *server) command(t *testing.T, token, name, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/tenants/"+tenant+"/commands/"+name, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", name, body, resp.StatusCode, b)
	}
}

// browser starts headless Chromium and returns a context for its first tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // the tests may run as root in containers
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "en-US"),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// tab opens a new tab of the browser, with its own sessionStorage.
func tab(t *testing.T, browserCtx context.Context) context.Context {
	ctx, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	// The first action opens the tab, which lives as long as the context
	// of that action: open it with the tab's own context, not a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx
}

// run runs browser actions with a deadline, failing the test on error.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		html, _ := chromedp.Run(hctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("%s: %v\npage: %.3000s", what, err, html)
	}
}

// settled waits until the page has no command in flight and has shown
// its outcome.
func settled() chromedp.Action[chromedp.Void] {
	return chromedp.WaitNotPresent(chromedp.CSS("body[data-busy]"))
}

// waitText waits until the element's text contains want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		js := fmt.Sprintf(`(() => { for (const e of document.querySelectorAll(%q)) { if (e.innerText.includes(%q)) return true } return false })()`, sel, want)
		for {
			ok, err := chromedp.Evaluate[bool](js)(ctx, tg)
			if err != nil {
				return err
			}
			if ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %q in %s: %w", want, sel, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// shot writes a screenshot of the page into docs/console/ when
// CONSOLE_SCREENSHOTS is set.
//
// Before that it checks what a machine can check of the page's
// accessibility: the page has a language and one h1, every form field
// and button has an accessible name, every table a caption and header
// cells, and no id is used twice (labels point at ids).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	problems, err := chromedp.Run(actx, chromedp.Evaluate[[]string](a11yJS))
	if err != nil {
		t.Fatalf("checking %s: %v", name, err)
	}
	for _, p := range problems {
		t.Errorf("page %s: %s", name, p)
	}
	if os.Getenv("CONSOLE_SCREENSHOTS") == "" {
		return
	}
	run(t, ctx, "settle", chromedp.Sleep(150*time.Millisecond))
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll("../../docs/console", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("../../docs/console", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// a11yJS lists the accessibility problems of the page a script can see.
const a11yJS = `(() => {
  const out = [];
  if (!document.documentElement.lang) out.push("the page has no lang");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) out.push(h1 + " h1 elements");
  const name = e => (e.getAttribute("aria-label") || (e.labels && [...e.labels].map(l => l.textContent).join(" ")) || e.textContent || e.value || "").trim();
  for (const e of document.querySelectorAll("input:not([type=hidden]), select, textarea, button")) {
    if (!name(e)) out.push(e.tagName.toLowerCase() + (e.name ? "[name=" + e.name + "]" : "") + " has no accessible name");
  }
  for (const tb of document.querySelectorAll("table")) {
    if (!tb.querySelector("caption")) out.push("a table has no caption");
    if (!tb.querySelector("th")) out.push("a table has no header cells");
  }
  const ids = {};
  for (const e of document.querySelectorAll("[id]")) { if (ids[e.id]) out.push("id " + e.id + " is used twice"); ids[e.id] = true; }
  return out;
})()`

func signIn(t *testing.T, ctx context.Context, url, token string) {
	t.Helper()
	run(t, ctx, "sign in",
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS("nav.main-nav")),
	)
}

func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, "sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("token")))
}

func open(t *testing.T, ctx context.Context, url, hash, heading string) {
	t.Helper()
	run(t, ctx, "open "+hash, chromedp.Navigate(url+"/"+hash), chromedp.WaitVisible(chromedp.CSS("nav.main-nav")), waitText("main h1", heading))
}

// fill sets fields (selector -> value) and presses the submit button
// of the form the first field is in.
func fill(fields map[string]string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for sel, v := range fields {
			if _, err := setField(sel, v)(ctx, tg); err != nil {
				return err
			}
		}
		return nil
	})
}

// setField sets the value of a form field as a user would, with the input
// and change events the page listens to.
func setField(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		s, _ := json.Marshal(sel)
		v, _ := json.Marshal(value)
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return "no element"; e.value = %s; if (e.value !== %s) return "the value did not take: " + e.value; e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return "" })()`, s, v, v)
		msg, err := chromedp.Evaluate[string](js)(ctx, tg)
		if err == nil && msg != "" {
			err = fmt.Errorf("%s: %s", sel, msg)
		}
		return err
	})
}

// TestConsole walks the seeds' flows in the browser: sign in, buy 5 and 8
// seats and see 13, assign two users with a plan off, see a refusal,
// request licenses as a plain user, approve some and deny another, share
// one, read a history, and watch a second admin's page follow the first's
// work; then the French strings.
func TestConsole(t *testing.T) {
	start := time.Now()
	s := startLedgerd(t)
	for _, u := range []struct{ id, name string }{{"alice", "Alice Martin"}, {"bob", "Bob Durand"}, {"carol", "Carol Petit"}, {"cfo", "Chief Financial Officer"}} {
		s.command(t, adminToken, "RegisterUser", fmt.Sprintf(`{"userId":%q,"displayName":%q,"email":"%s@contoso.com","usageLocation":"US"}`, u.id, u.name, u.id))
	}
	s.command(t, adminToken, "CreateGroup", `{"groupId":"sales","name":"Sales"}`)
	s.command(t, adminToken, "AddGroupMembers", `{"groupId":"sales","userIds":["carol","bob"]}`)
	ctx := browser(t)

	t.Run("sign in shows the tenant and the roles", func(t *testing.T) {
		run(t, ctx, "sign-in page", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")))
		shot(t, ctx, "signin")
		run(t, ctx, "a wrong token is refused",
			chromedp.SendKeys(chromedp.ID("token"), "not-a-valid-token-at-all"),
			chromedp.Click(chromedp.ID("signin")),
			waitText(".problem", "Unauthorized"))
		signIn(t, ctx, s.URL, adminToken)
		run(t, ctx, "header", waitText("#tenant", "contoso"), waitText("#roles", "Global Administrator"))
	})

	t.Run("add a user and a group", func(t *testing.T) {
		open(t, ctx, s.URL, "#/users", "Users")
		add := "section[aria-labelledby=adduser-h] "
		run(t, ctx, "add dave",
			fill(map[string]string{add + "input[name=userId]": "dave", add + "input[name=displayName]": "Dave Moreau", add + "input[name=email]": "dave@contoso.com", add + "input[name=usageLocation]": "fr"}),
			chromedp.Click(chromedp.CSS(add+"button[type=submit]")), settled(),
			waitText("main table", "Dave Moreau\tdave\tdave@contoso.com\tFR"))
		open(t, ctx, s.URL, "#/groups", "Groups")
		run(t, ctx, "create hr",
			fill(map[string]string{"section[aria-labelledby=addgroup-h] input[name=groupId]": "hr", "section[aria-labelledby=addgroup-h] input[name=name]": "Human resources"}),
			chromedp.Click(chromedp.CSS("section[aria-labelledby=addgroup-h] button[type=submit]")), settled(),
			waitText("main table", "Human resources"))
		open(t, ctx, s.URL, "#/groups/hr", "Human resources")
		run(t, ctx, "add dave to hr",
			setField("section[aria-labelledby=addmembers-h] input[name=users]", "dave"),
			chromedp.Click(chromedp.CSS("section[aria-labelledby=addmembers-h] button[type=submit]")), settled(),
			waitText("main table", "Dave Moreau (dave)"))
	})

	t.Run("buy 5 and 8 seats and see 13", func(t *testing.T) {
		open(t, ctx, s.URL, "#/products", "Products")
		buy := "section[aria-labelledby=buy-h] "
		for _, sub := range []struct{ id, product, seats, channel string }{{"sub-1", "SPB", "5", "DIRECT"}, {"sub-2", "SPB", "8", "PARTNER"}, {"sub-visio", "VISIOCLIENT", "1", "NCE"}} {
			run(t, ctx, "buy "+sub.id,
				fill(map[string]string{buy + "input[name=subscriptionId]": sub.id, buy + "select[name=productId]": sub.product, buy + "input[name=seats]": sub.seats, buy + "select[name=channel]": sub.channel}),
				chromedp.Click(chromedp.CSS(buy+"button[type=submit]")),
				waitText("main table", sub.id))
		}
		shot(t, ctx, "products")
		open(t, ctx, s.URL, "#/licenses", "Licenses")
		run(t, ctx, "13 seats", waitText("main table tbody tr", "Microsoft 365 Business Premium\t13\t0\t13"))
	})

	t.Run("assign two users with a plan off", func(t *testing.T) {
		open(t, ctx, s.URL, "#/licenses/SPB", "Microsoft 365 Business Premium")
		assign := "section[aria-labelledby=assign-h] "
		run(t, ctx, "assign",
			setField(assign+"input[name=users]", "alice, bob"),
			chromedp.Click(chromedp.CSS(assign+"input[name=plan][value=SWAY]")),
			chromedp.Click(chromedp.CSS(assign+"button[type=submit]")),
			waitText("section[aria-labelledby=holders-h] table", "Alice Martin (alice)"),
			waitText("section[aria-labelledby=holders-h] table", "Bob Durand (bob)\tDirectly\tSway"),
			waitText("main", "13 seats, 2 assigned, 11 available"))
		shot(t, ctx, "licenses-product")
		open(t, ctx, s.URL, "#/licenses?users=carol,alice,bob", "Licenses")
		run(t, ctx, "selection", waitText("main", "Licenses of alice, bob, carol"), waitText("main table", "Some"))
		shot(t, ctx, "licenses")
	})

	t.Run("a refusal shows its code and detail beside the users", func(t *testing.T) {
		open(t, ctx, s.URL, "#/licenses/VISIOCLIENT", "Visio Plan 2")
		assign := "section[aria-labelledby=assign-h] "
		run(t, ctx, "refused",
			setField(assign+"input[name=users]", "alice,bob"),
			chromedp.Click(chromedp.CSS(assign+"button[type=submit]")),
			waitText(assign+".problem", "CountViolation"),
			waitText(assign+".problem", "1 short"))
		shot(t, ctx, "refusal")
	})

	t.Run("a plain user requests licenses", func(t *testing.T) {
		signOut(t, ctx)
		signIn(t, ctx, s.URL, aliceToken)
		run(t, ctx, "only their page", waitText("nav.main-nav", "My requests"), waitText("#roles", "none (user)"))
		nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		navText, err := chromedp.Run(nctx, chromedp.Text(chromedp.CSS("nav.main-nav")))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(navText, "Licenses") || strings.Contains(navText, "Audit") {
			t.Errorf("a plain user is offered %q", navText)
		}
		for _, r := range []struct{ product, others, message string }{
			{"VISIOCLIENT", "bob", "floor plans"}, {"POWER_BI_PRO", "", "dashboards"}, {"ENTERPRISEPACK", "carol", "for the move"},
		} {
			run(t, ctx, "request "+r.product,
				fill(map[string]string{"main select[name=productId]": r.product, "main input[name=others]": r.others, "main textarea[name=message]": r.message}),
				chromedp.Click(chromedp.CSS("main form button[type=submit]")),
				waitText("main .cards", r.message))
		}
		shot(t, ctx, "my-requests")
		signOut(t, ctx)
	})

	t.Run("an admin approves some, denies another and shares one", func(t *testing.T) {
		signIn(t, ctx, s.URL, adminToken)
		open(t, ctx, s.URL, "#/requests", "Requests")
		visio := "article[data-product=VISIOCLIENT] "
		run(t, ctx, "names", waitText(visio, "Alice Martin (alice), Bob Durand (bob)"), waitText(visio, "floor plans"))
		shot(t, ctx, "requests")
		run(t, ctx, "approve alice only",
			chromedp.Click(chromedp.CSS(visio+"details.approve summary")),
			chromedp.Click(chromedp.CSS(visio+"details.approve input[name=approve][value=bob]")),
			chromedp.Click(chromedp.CSS(visio+"details.approve button[type=submit]")),
			settled(), waitText("main .ok", "events recorded"))
		pbi := "article[data-product=POWER_BI_PRO] "
		run(t, ctx, "deny",
			chromedp.Click(chromedp.CSS(pbi+"details.deny summary")),
			setField(pbi+"details.deny textarea", "not this quarter"),
			chromedp.Click(chromedp.CSS(pbi+"details.deny button[type=submit]")),
			settled(), waitText("main .ok", "events recorded"))
		e3 := "article[data-product=ENTERPRISEPACK] "
		run(t, ctx, "share",
			chromedp.Click(chromedp.CSS(e3+"details.share summary")),
			setField(e3+"details.share input[name=recipients]", "cfo@contoso.com"),
			setField(e3+"details.share input[name=subject]", "Office 365 E3 for Carol?"),
			chromedp.Click(chromedp.CSS(e3+"details.share button[type=submit]")),
			waitText(e3, "Chief Financial Officer (cfo)"))
		open(t, ctx, s.URL, "#/requests?status=completed", "Requests")
		run(t, ctx, "completed",
			waitText(visio, "Partly approved"), waitText(visio, "Bob Durand (bob)"),
			waitText(pbi, "Denied"))
		shot(t, ctx, "requests-completed")
	})

	t.Run("users, groups and audit pages", func(t *testing.T) {
		open(t, ctx, s.URL, "#/users?search=martin", "Users")
		run(t, ctx, "search", waitText("main table", "alice@contoso.com"))
		shot(t, ctx, "users")
		open(t, ctx, s.URL, "#/users/alice", "Alice Martin")
		run(t, ctx, "alice's licenses", waitText("main table", "Visio Plan 2"), waitText("main table", "Sway"))
		shot(t, ctx, "user")
		open(t, ctx, s.URL, "#/groups/sales", "Sales")
		run(t, ctx, "members", waitText("main", "Carol Petit (carol)"))
		shot(t, ctx, "group")
		open(t, ctx, s.URL, "#/audit", "Audit")
		run(t, ctx, "history",
			setField("section[aria-labelledby=hist-h] select[name=kind]", "user"),
			setField("section[aria-labelledby=hist-h] input[name=id]", "alice"),
			chromedp.Click(chromedp.CSS("section[aria-labelledby=hist-h] button[type=submit]")),
			waitText("section[aria-labelledby=hist-h] table", "LicenseAssigned"),
			chromedp.Click(chromedp.CSS("section[aria-labelledby=chain-h] button")),
			waitText("section[aria-labelledby=chain-h] .ok", "The chain holds"))
		shot(t, ctx, "audit")
	})

	t.Run("a second admin sees the first one's work without reloading", func(t *testing.T) {
		other := tab(t, ctx)
		signIn(t, other, s.URL, admin2Token)
		open(t, other, s.URL, "#/licenses", "Licenses")
		run(t, other, "live stream open", chromedp.WaitVisible(chromedp.CSS(`body[data-live="on"]`)))
		s.command(t, adminToken, "PurchaseSubscription", `{"subscriptionId":"sub-pbi","productId":"POWER_BI_PRO","seats":3}`)
		run(t, other, "updated", waitText("main table", "Power BI Pro\t3\t0\t3"))
	})

	t.Run("a partner acts through a GDAP relationship", func(t *testing.T) {
		open(t, ctx, s.URL, "#/partners", "Partners")
		grant := "section[aria-labelledby=grant-h] "
		run(t, ctx, "grant fabrikam License Administrator for 30 days",
			setField(grant+"input[name=partnerId]", "fabrikam"),
			chromedp.Click(chromedp.CSS(grant+"input[name=role][value=LicenseAdministrator]")),
			setField(grant+"input[name=durationDays]", "30"),
			chromedp.Click(chromedp.CSS(grant+"button[type=submit]")), settled(),
			waitText("main table", "fabrikam\tLicense Administrator"), waitText("main table", "Active"))
		shot(t, ctx, "partners")
		signOut(t, ctx)
		run(t, ctx, "sign in as the partner's agent",
			chromedp.Navigate(s.URL+"/"),
			chromedp.WaitVisible(chromedp.ID("token")),
			chromedp.SendKeys(chromedp.ID("token"), agentToken),
			chromedp.SendKeys(chromedp.ID("signin-tenant"), tenant),
			chromedp.Click(chromedp.ID("signin")),
			chromedp.WaitVisible(chromedp.CSS("nav.main-nav")),
			waitText("#tenant", "contoso"), waitText("#roles", "License Administrator"), waitText("header", "fabrikam"))
		open(t, ctx, s.URL, "#/licenses", "Licenses")
		run(t, ctx, "the partner reads the licenses", waitText("main table", "Microsoft 365 Business Premium"))
		signOut(t, ctx)
		signIn(t, ctx, s.URL, adminToken)
	})

	t.Run("a phone-sized screen", func(t *testing.T) {
		run(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		open(t, ctx, s.URL, "#/licenses", "Licenses")
		shot(t, ctx, "licenses-phone")
		run(t, ctx, "laptop", chromedp.EmulateReset())
	})

	t.Run("French, from Accept-Language and from the switch", func(t *testing.T) {
		fr := tab(t, ctx)
		run(t, fr, "french page",
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
					return err
				}
				_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "fr-FR,fr;q=0.9"}})
				return err
			}),
			chromedp.Navigate(s.URL+"/"),
			waitText("main label", "Jeton d’accès"))
		lctx, cancel := context.WithTimeout(fr, 10*time.Second)
		defer cancel()
		lang, err := chromedp.Run(lctx, chromedp.Evaluate[string](`document.documentElement.lang`))
		if err != nil {
			t.Fatal(err)
		}
		if lang != "fr" {
			t.Errorf("html lang=%q", lang)
		}
		run(t, fr, "sign in", chromedp.SendKeys(chromedp.ID("token"), adminToken), chromedp.Click(chromedp.ID("signin")), chromedp.WaitVisible(chromedp.CSS("nav.main-nav")))
		open(t, fr, s.URL, "#/licenses", "Licences")
		run(t, fr, "french numbers and roles", waitText("#roles", "Administrateur général"), waitText("main table", "Microsoft 365 Business Premium\t13\t2\t11"))
		shot(t, fr, "licenses-fr")
		open(t, fr, s.URL, "#/requests?status=completed", "Demandes")
		run(t, fr, "french statuses", waitText("main", "Approuvée en partie"), waitText("main", "Refusée"))
		run(t, fr, "switch to English", setField("#lang", "en"), waitText("main h1", "Requests"))
	})
	t.Logf("the browser tests took %s", time.Since(start).Round(time.Millisecond))
}
