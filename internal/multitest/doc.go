// Package multitest holds the multi-instance test: two `guichet serve` processes on one
// PostgreSQL database and one Redis, fed through both SMTP ports and one IMAP mailbox,
// one of them killed with SIGKILL halfway. It has no code of its own; see multi_test.go.
// The test runs only when GUICHET_TEST_POSTGRES, GUICHET_TEST_REDIS and GUICHET_TEST_IMAP
// are set (.ci/run sets them).
package multitest
