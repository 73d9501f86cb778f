// Package multitest holds the tests that run real `guichet serve` processes and kill
// them:
//
//   - TestTwoInstances (multi_test.go): two processes on one PostgreSQL database and one
//     Redis, fed through both SMTP ports and one IMAP mailbox, one of them killed with
//     SIGKILL halfway. It runs only when GUICHET_TEST_POSTGRES, GUICHET_TEST_REDIS and
//     GUICHET_TEST_IMAP are set (.ci/run sets them).
//   - TestSpoolSurvivesKill (spool_kill_test.go): one process on SQLite with its spool,
//     killed with SIGKILL during a load and started again; every message answered 250
//     must make exactly one ticket and one confirmation. It needs nothing but Go.
//
// It has no code of its own.
package multitest
