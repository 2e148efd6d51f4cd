/* The gcsim subcommands. Each takes the arguments after its name (argv[0] is the command
 * name) and returns the process exit status; each prints its own --help. */
#ifndef GCSIM_COMMANDS_H
#define GCSIM_COMMANDS_H

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} gcsim_command;

int cmd_characterize(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_ppl(int argc, char **argv);
int cmd_cost(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_adapt(int argc, char **argv);
int cmd_attention(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_sweep(int argc, char **argv);

#endif
