package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/ticket"
)

// signIn posts the sign-in form from the client address remote ("ip:port").
func (f *portalFixture) signIn(t *testing.T, remote, email, password string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	return f.postFrom(t, remote, "/login", url.Values{"email": {email}, "password": {password}}, hdr...)
}

// postFrom posts form to target from the client address remote.
func (f *portalFixture) postFrom(t *testing.T, remote, target string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// retryAfter is the Retry-After of a 429, failing the test for any other answer.
func retryAfterOf(t *testing.T, w *httptest.ResponseRecorder, what string) time.Duration {
	t.Helper()
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("%s: %d, want 429", what, w.Code)
	}
	n, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil || n <= 0 {
		t.Fatalf("%s: Retry-After %q", what, w.Header().Get("Retry-After"))
	}
	return time.Duration(n) * time.Second
}

// TestSignInSuccessesNotLimited: a school whose staff all sign in from one address is
// never held up by successful sign-ins (the old limit locked it out after 10).
func TestSignInSuccessesNotLimited(t *testing.T) {
	f := newPortal(t, Options{})
	for i := range DefaultSignInLimits.Client.Free + 1 {
		who := []string{"jeanne@ecole.test", "paul@ecole.test"}[i%2]
		if w := f.signIn(t, "192.0.2.10:4000", who, testPassword); w.Code != http.StatusSeeOther {
			t.Fatalf("sign-in %d of %s from the school's address: %d", i+1, who, w.Code)
		}
	}
	// A few typos among them do not change that.
	for i := range 2 {
		f.signIn(t, "192.0.2.10:4000", "paul@ecole.test", "faute de frappe")
		if w := f.signIn(t, "192.0.2.10:4000", "jeanne@ecole.test", testPassword); w.Code != http.StatusSeeOther {
			t.Fatalf("sign-in after typo %d: %d", i+1, w.Code)
		}
	}
}

// TestSignInClientDelaysGrow: wrong passwords from one address (on different accounts)
// make each further try from it wait longer, up to the cap; a try during the wait is
// refused unchecked, even with the right password, and does not lengthen the wait;
// other addresses are not held up.
func TestSignInClientDelaysGrow(t *testing.T) {
	f := newPortal(t, Options{SignIn: SignInLimits{
		Client: BackoffPolicy{Free: 3, Base: 2 * time.Second, Max: 30 * time.Second, Forget: time.Hour}}})
	const attacker = "203.0.113.7:5555"
	guess := 0
	fail := func() *httptest.ResponseRecorder {
		guess++
		return f.signIn(t, attacker, fmt.Sprintf("user%d@ecole.test", guess), "devine")
	}
	for i := range 3 {
		if w := fail(); w.Code != http.StatusUnauthorized {
			t.Fatalf("free failure %d: %d", i+1, w.Code)
		}
	}
	var waits []time.Duration
	for range 6 {
		wait := retryAfterOf(t, fail(), "try after failures")
		if again := retryAfterOf(t, f.signIn(t, attacker, "jeanne@ecole.test", testPassword), "right password while waiting"); again != wait {
			t.Fatalf("a refused try changed the wait: %v then %v", wait, again)
		}
		waits = append(waits, wait)
		f.clock.Advance(wait)
		if w := fail(); w.Code != http.StatusUnauthorized {
			t.Fatalf("after waiting %v: %d, want the password checked", wait, w.Code)
		}
	}
	want := []time.Duration{2, 4, 8, 16, 30, 30}
	for i := range want {
		if waits[i] != want[i]*time.Second {
			t.Fatalf("waits %v, want %v s", waits, want)
		}
	}
	if w := f.signIn(t, "198.51.100.1:1", "jeanne@ecole.test", testPassword); w.Code != http.StatusSeeOther {
		t.Errorf("another address: %d", w.Code)
	}
	// IPv6: the whole /64 is one client.
	f2 := newPortal(t, Options{SignIn: SignInLimits{Client: BackoffPolicy{Free: 1, Base: time.Minute, Max: time.Minute}}})
	f2.signIn(t, "[2001:db8:1:2::1]:1", "x@ecole.test", "devine")
	retryAfterOf(t, f2.signIn(t, "[2001:db8:1:2:ffff::9]:1", "y@ecole.test", "devine"), "same /64")
	if w := f2.signIn(t, "[2001:db8:1:3::1]:1", "jeanne@ecole.test", testPassword); w.Code != http.StatusSeeOther {
		t.Errorf("another /64: %d", w.Code)
	}
}

// TestSignInAccountNotLocked: wrong passwords on one account from many addresses slow
// the guessing down, but the account's wait stays capped (1 minute by default): after
// it, the right password works, and it resets the account's count.
func TestSignInAccountNotLocked(t *testing.T) {
	f := newPortal(t, Options{})
	const jeanne = "jeanne@ecole.test"
	const guesses = 12 // enough to reach the cap: 2s, 4s, … 32s, 1m
	refused, longest := 0, time.Duration(0)
	for i := range guesses {
		from := fmt.Sprintf("203.0.113.%d:1000", i+1)
		w := f.signIn(t, from, jeanne, "devine")
		if w.Code == http.StatusTooManyRequests {
			refused++
			wait := retryAfterOf(t, w, "guess on the account")
			longest = max(longest, wait)
			f.clock.Advance(wait)
			w = f.signIn(t, from, jeanne, "devine")
		}
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d after its wait: %d, want the password checked", i+1, w.Code)
		}
	}
	if refused != guesses-DefaultSignInLimits.Account.Free || longest != DefaultSignInLimits.Account.Max {
		t.Fatalf("%d guesses refused, longest wait %v; want %d and %v", refused, longest,
			guesses-DefaultSignInLimits.Account.Free, DefaultSignInLimits.Account.Max)
	}
	// The real user right after the last guess waits at most the cap, then gets in.
	const home = "192.0.2.20:4000"
	wait := retryAfterOf(t, f.signIn(t, home, jeanne, testPassword), "the real user")
	if wait > DefaultSignInLimits.Account.Max {
		t.Fatalf("the real user waits %v", wait)
	}
	f.clock.Advance(wait)
	if w := f.signIn(t, home, jeanne, testPassword); w.Code != http.StatusSeeOther {
		t.Fatalf("right password after the wait: %d", w.Code)
	}
	// The success reset the account: Free wrong passwords again go unslowed.
	for i := range DefaultSignInLimits.Account.Free {
		if w := f.signIn(t, home, jeanne, "faute"); w.Code != http.StatusUnauthorized {
			t.Fatalf("typo %d after a success: %d, want 401", i+1, w.Code)
		}
	}
	retryAfterOf(t, f.signIn(t, home, jeanne, "faute"), "one typo too many")
}

// TestSignInParallelGuesses: tries sent all at once are counted one by one, so no more
// than the free ones reach the password check.
func TestSignInParallelGuesses(t *testing.T) {
	f := newPortal(t, Options{SignIn: SignInLimits{Client: BackoffPolicy{Free: 5, Base: time.Minute, Max: time.Hour}}})
	codes := make([]int, 30)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			codes[i] = f.signIn(t, "203.0.113.9:1", fmt.Sprintf("u%d@ecole.test", i), "devine").Code
		})
	}
	wg.Wait()
	n := map[int]int{}
	for _, c := range codes {
		n[c]++
	}
	if n[http.StatusUnauthorized] != 5 || n[http.StatusTooManyRequests] != 25 {
		t.Fatalf("answers %v, want 5×401 and 25×429", n)
	}
}

// TestSignInLimitMessage: the wait is told in French, or in English when the browser
// asks for it, with Retry-After.
func TestSignInLimitMessage(t *testing.T) {
	f := newPortal(t, Options{})
	for range DefaultSignInLimits.Account.Free {
		f.signIn(t, "192.0.2.30:1", "paul@ecole.test", "faux")
	}
	// Refused tries are not counted, so each language sees the same wait.
	for _, c := range []struct{ lang, want string }{
		{"", "Trop de tentatives de connexion. Réessayez dans 2 secondes"},
		{"fr-FR,fr;q=0.9,en;q=0.8", "Réessayez dans 2 secondes"},
		{"en-GB,en;q=0.9,fr;q=0.5", "Too many sign-in attempts. Try again in 2 seconds"},
		{"de-DE,en;q=0.7", "Try again in 2 seconds"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			w := f.signIn(t, "192.0.2.30:1", "paul@ecole.test", testPassword, "Accept-Language", c.lang)
			if retryAfterOf(t, w, "past the free failures") != 2*time.Second {
				t.Fatalf("Retry-After %s", w.Header().Get("Retry-After"))
			}
			if body := w.Body.String(); !strings.Contains(body, c.want) || !strings.Contains(body, `value="paul@ecole.test"`) {
				t.Fatalf("the page lacks %q:\n%s", c.want, body)
			}
		})
	}
	f = newPortal(t, Options{SignIn: SignInLimits{Account: BackoffPolicy{Free: 1, Base: 10 * time.Minute, Max: time.Hour}}})
	f.signIn(t, "192.0.2.31:1", "paul@ecole.test", "faux")
	w := f.signIn(t, "192.0.2.31:1", "paul@ecole.test", "faux", "Accept-Language", "en")
	if !strings.Contains(w.Body.String(), "Try again in 10 minutes") || w.Header().Get("Retry-After") != "600" {
		t.Errorf("minutes: %s %s", w.Header().Get("Retry-After"), w.Body)
	}
}

// TestSignInLinkLimited: the sign-in link form cannot flood a mailbox: past a few
// links to one address, each further one waits longer; other addresses are not held up.
func TestSignInLinkLimited(t *testing.T) {
	f := newPortal(t, Options{})
	ask := func(email string) *httptest.ResponseRecorder {
		return f.postFrom(t, "203.0.113.50:1", "/login/link", url.Values{"email": {email}})
	}
	for i := range DefaultSignInLimits.LinkAccount.Free {
		if w := ask("jeanne@ecole.test"); w.Code != http.StatusOK {
			t.Fatalf("link %d: %d", i+1, w.Code)
		}
	}
	w := ask("jeanne@ecole.test")
	if wait := retryAfterOf(t, w, "one link too many"); wait != time.Minute || !strings.Contains(w.Body.String(), "Trop de liens de connexion demandés. Réessayez dans 1 minute") {
		t.Fatalf("wait %v, page %s", wait, w.Body)
	}
	f.clock.Advance(time.Minute)
	if w := ask("jeanne@ecole.test"); w.Code != http.StatusOK {
		t.Fatalf("after the wait: %d", w.Code)
	}
	if wait := retryAfterOf(t, ask("jeanne@ecole.test"), "the next one"); wait != 2*time.Minute {
		t.Fatalf("second wait %v, want 2m", wait)
	}
	if n := len(f.outboxLinks(t, ticket.MailSignIn, "jeanne@ecole.test")); n != DefaultSignInLimits.LinkAccount.Free+1 {
		t.Errorf("%d sign-in mails to Jeanne, want %d", n, DefaultSignInLimits.LinkAccount.Free+1)
	}
	if w := ask("paul@ecole.test"); w.Code != http.StatusOK {
		t.Errorf("another address: %d", w.Code)
	}
	// A client asking for links to many addresses is slowed down too.
	g := newPortal(t, Options{SignIn: SignInLimits{LinkClient: BackoffPolicy{Free: 2, Base: time.Minute, Max: time.Hour}}})
	for i := range 2 {
		g.postFrom(t, "203.0.113.51:1", "/login/link", url.Values{"email": {fmt.Sprintf("x%d@ecole.test", i)}})
	}
	retryAfterOf(t, g.postFrom(t, "203.0.113.51:1", "/login/link", url.Values{"email": {"x9@ecole.test"}}), "third address from one client")
}

// TestProfilePasswordCountsAgainstAccount: guessing the current password on the profile
// page (a session in other hands) is slowed like sign-in, on the same count.
func TestProfilePasswordCountsAgainstAccount(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	form := url.Values{"current": {"devine"}, "new": {"nouveau-mdp-1"}, "confirm": {"nouveau-mdp-1"}}
	for i := range DefaultSignInLimits.Account.Free {
		if w := f.do(t, c, "POST", "/profile/password", form); w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("wrong current password %d: %d", i+1, w.Code)
		}
	}
	w := f.do(t, c, "POST", "/profile/password", form)
	retryAfterOf(t, w, "one guess too many")
	if !strings.Contains(w.Body.String(), "Trop de mots de passe erronés") {
		t.Errorf("page lacks the message: %s", w.Body)
	}
	retryAfterOf(t, f.signIn(t, "192.0.2.40:1", "jeanne@ecole.test", testPassword), "sign-in on the same count")
}

// TestSignInLimitFailsOpen: when the limits' store fails (Redis down), people sign in.
func TestSignInLimitFailsOpen(t *testing.T) {
	f := newPortal(t, Options{SignIn: SignInLimits{Account: BackoffPolicy{Free: 1, Base: time.Hour, Max: time.Hour},
		Client: BackoffPolicy{Free: 1, Base: time.Hour, Max: time.Hour}}})
	f.backoff.err = errors.New("redis: connection refused")
	for range 2 {
		f.signIn(t, "192.0.2.50:1", "jeanne@ecole.test", "faux")
	}
	if w := f.signIn(t, "192.0.2.50:1", "jeanne@ecole.test", testPassword); w.Code != http.StatusSeeOther {
		t.Errorf("limits down: %d", w.Code)
	}
}

// TestSignInHugeAddress: a megabyte "address" with NUL bytes is counted like any
// other, under a key of bounded size.
func TestSignInHugeAddress(t *testing.T) {
	f := newPortal(t, Options{SignIn: SignInLimits{Account: BackoffPolicy{Free: 1, Base: time.Minute, Max: time.Minute}}})
	huge := strings.Repeat("a\x00", 1<<19) + "@ecole.test"
	if w := f.signIn(t, "192.0.2.60:1", huge, "x"); w.Code != http.StatusUnauthorized {
		t.Fatalf("huge address: %d", w.Code)
	}
	retryAfterOf(t, f.signIn(t, "192.0.2.61:1", huge, "x"), "the same huge address again")
	f.postFrom(t, "192.0.2.62:1", "/login/link", url.Values{"email": {huge}})
	if f.backoff.longest > 100 {
		t.Errorf("a key of %d bytes was kept", f.backoff.longest)
	}
}

func TestClientNet(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:1234":             "192.0.2.1",
		"[::ffff:192.0.2.1]:1234":    "192.0.2.1",
		"[2001:db8:a:b:c:d:e:f]:443": "2001:db8:a:b::/64",
		"[fe80::1%eth0]:80":          "fe80::/64",
		"garbage\x00":                "garbage\x00",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := clientNet(r); got != want {
			t.Errorf("clientNet(%q) = %q, want %q", remote, got, want)
		}
	}
}

func TestAcceptLang(t *testing.T) {
	for h, want := range map[string]string{
		"": "fr", "en": "en", "en-US,en;q=0.9": "en", "fr-FR,en;q=0.9": "fr", "en;q=0.5,fr;q=0.8": "fr",
		"de,en;q=0.3": "en", "de": "fr", "en;q=abc": "en", "en;q=0": "fr", "*": "fr", ",,;;q=": "fr",
	} {
		if got := acceptLang(h); got != want {
			t.Errorf("acceptLang(%q) = %q, want %q", h, got, want)
		}
	}
}
