# How the CLI tests launch ranks (sourced): the test machines run as root, which mpirun refuses without
# the two OMPI_ALLOW_RUN_AS_ROOT variables; --oversubscribe lets 4 ranks share a 2-core machine, and each
# rank keeps one intra-op thread (OMP_NUM_THREADS=1, unbound) so they don't starve each other. The -x
# flags carry that environment to every rank. A test needing more adds to the array: mpi+=(-np 2).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
mpi=(mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM)
