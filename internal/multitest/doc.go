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
//   - TestServeIdle (idle_test.go): one process on SQLite with no traffic must write
//     less than 64 KiB and use less than 0.2 s of CPU over 10 s (read from
//     /proc/<pid>/io and /proc/<pid>/stat: Linux only), then still confirm a mail at
//     once. Skipped with -short.
//
// It has no code of its own.
package multitest
