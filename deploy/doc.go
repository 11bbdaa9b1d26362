// Package deploy holds no Go code: the folder carries the scheduling
// examples (crontab, systemd units, Kubernetes CronJobs) and the commented
// configuration example, and its tests check that they parse and say what
// deploy/README.md promises.
package deploy
