/* Small helpers shared by the subcommands: where gcsim's own files are, and the command
 * line as one string for provenance. */
#ifndef GCSIM_CLI_H
#define GCSIM_CLI_H

#include <stddef.h>
#include <stdio.h>

#include <cJSON.h>

#include "common.h"

/* The gcsim source folder (spice/, data/): $GCSIM_ROOT, else the one it was built from. */
const char *cli_root(void);

/* 1 when started by mpirun or srun (their environment says so): MPI_Init is wanted. */
int cli_under_mpirun(void);

/* Removes the launcher's variables from this process's environment (OMPI_*, PMIX_*, PMI_*),
 * so that a program it starts is a serial run (a sweep's steps are). */
void cli_leave_mpirun(void);

/* After a command's option parse returned prc (1: --help, -1: an error in e): prints the
 * usage on stdout, or "gcsim NAME: error (see gcsim NAME --help)" on stderr, and returns the
 * exit status (0 or 2). */
int cli_parse_exit(const char *name, int prc, void (*usage)(FILE *), const gc_err *e);

/* The error for the option getopt_long (run with opterr = 0) just refused: unknown, or
 * missing its value. Returns -1. */
int cli_bad_option(char **argv, gc_err *e);

/* "gcsim characterize --tech si ..." into buf. */
void cli_command_line(int argc, char **argv, char *buf, size_t n);

/* The exit status of a command that catches SIGINT and SIGTERM (gc_interrupt_catch): status,
 * or 128 + the signal after an interruption (130 for SIGINT, 143 for SIGTERM). */
int cli_exit_status(int status);


#endif
