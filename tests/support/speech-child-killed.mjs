// A speech process the kernel kills before it says it runs (the OOM killer at its start, on a board
// short of memory): it takes SIGKILL at once.
process.kill(process.pid, 'SIGKILL');
