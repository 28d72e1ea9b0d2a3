/* Uncontended acquire+release through libprwlock's C interface, measured as `prwlock bench`
 * measures the Swift API (uncontended-read / uncontended-write): ITERATIONS pairs per
 * repetition, one warm-up then REPETITIONS timed, median and spread of ns per pair. A
 * process-shared pthread_rwlock is measured the same way, repetition for repetition, as the
 * yardstick the Swift figures are also given against.
 *
 *   uncontended [ITERATIONS [REPETITIONS]]      defaults 3000000 and 5
 */
#define _GNU_SOURCE
#include <prwlock.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static long iterations = 3000000;
static int repetitions = 5;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *samples) {
    qsort(samples, (size_t)repetitions, sizeof samples[0], compare);
    return repetitions % 2 ? samples[repetitions / 2] : (samples[repetitions / 2 - 1] + samples[repetitions / 2]) / 2;
}

static double time_pairs(void (*pairs)(void *, int), void *lock, int write) {
    int64_t start = now_ns();
    pairs(lock, write);
    return (double)(now_ns() - start) / (double)iterations;
}

/* Runs both locks' pairs one warm-up and `repetitions` timed times, alternating, so that a load
 * that comes and goes on the machine falls on both alike; prints medians, spreads and the median
 * of the per-repetition ratios. */
static void report(const char *what, void (*ours)(void *, int), void *our_lock,
                   void (*theirs)(void *, int), void *their_lock, int write) {
    double a[64], b[64], ratio[64];
    for (int r = -1; r < repetitions; r++) {
        double x = time_pairs(ours, our_lock, write), y = time_pairs(theirs, their_lock, write);
        if (r >= 0) { a[r] = x; b[r] = y; ratio[r] = x / y; }
    }
    double ratio_median = median_of(ratio), ours_median = median_of(a), theirs_median = median_of(b);
    printf("%-6s libprwlock (C) %6.2f ns/pair (spread %.2f)   pthread_rwlock %6.2f ns/pair (spread %.2f)   %.2fx\n",
           what, ours_median, a[repetitions - 1] - a[0], theirs_median, b[repetitions - 1] - b[0], ratio_median);
}

static void prwlock_pairs(void *raw, int write) {
    prwlock_t *lock = raw;
    if (write) {
        for (long i = 0; i < iterations; i++) { prwlock_acquire_write(lock, -1); prwlock_release_write(lock); }
    } else {
        for (long i = 0; i < iterations; i++) { prwlock_acquire_read(lock, -1); prwlock_release_read(lock); }
    }
}

static void pthread_pairs(void *raw, int write) {
    pthread_rwlock_t *lock = raw;
    if (write) {
        for (long i = 0; i < iterations; i++) { pthread_rwlock_wrlock(lock); pthread_rwlock_unlock(lock); }
    } else {
        for (long i = 0; i < iterations; i++) { pthread_rwlock_rdlock(lock); pthread_rwlock_unlock(lock); }
    }
}

int main(int argc, char **argv) {
    if (argc > 1) iterations = atol(argv[1]);
    if (argc > 2) repetitions = atoi(argv[2]);
    if (iterations <= 0 || repetitions <= 0 || repetitions > 64) {
        fprintf(stderr, "usage: uncontended [ITERATIONS>0 [REPETITIONS 1...64]]\n");
        return 64;
    }
    prwlock_t *lock;
    if (prwlock_create(&lock) != 0) { fprintf(stderr, "%s\n", prwlock_last_error()); return 1; }
    pthread_rwlock_t *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_rwlock_init(shared, &attr);

    printf("%ld pairs x %d repetitions, alternating; medians (ratio: median of per-repetition ratios)\n",
           iterations, repetitions);
    report("read", prwlock_pairs, lock, pthread_pairs, shared, 0);
    report("write", prwlock_pairs, lock, pthread_pairs, shared, 1);
    prwlock_close(lock);
    return 0;
}
