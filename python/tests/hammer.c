/* The C side of the three-language hammer: the Swift worker's `hammer` protocol on a shared
 * 4096-byte record (16 words stamped by each writer; readers inside at word 32, writers inside at
 * word 33), over libprwlock. Usage: hammer HANDLE RECORD SECONDS WRITE_PERCENT */
#include <prwlock.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: hammer HANDLE RECORD SECONDS WRITE_PERCENT\n"); return 2; }
    prwlock_t *lock = NULL;
    int rc = prwlock_open_handle(&lock, argv[1]);
    if (rc != 0) { fprintf(stderr, "open: %s\n", prwlock_last_error()); return 2; }
    int fd = open(argv[2], O_RDWR);
    uint32_t *record = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (record == MAP_FAILED) { perror("record"); return 2; }
    int64_t end = now_us() + (int64_t)(atof(argv[3]) * 1e6);
    int write_percent = atoi(argv[4]);
    long ops = 0, writes = 0, torn = 0, overlaps = 0, repaired = 0;
    unsigned seed = (unsigned)getpid();
    printf("started\n");
    fflush(stdout);
    while (now_us() < end) {
        int is_write = (int)(rand_r(&seed) % 100) < write_percent;
        rc = is_write ? prwlock_acquire_write(lock, 30000000000LL) : prwlock_acquire_read(lock, 30000000000LL);
        if (rc != 0 && rc != EOWNERDEAD) { fprintf(stderr, "acquire: %s\n", prwlock_last_error()); return 2; }
        if (is_write) {
            if (__atomic_fetch_add(&record[33], 1, __ATOMIC_SEQ_CST) != 0 || __atomic_load_n(&record[32], __ATOMIC_SEQ_CST) != 0)
                overlaps++;
            if (rc == EOWNERDEAD) repaired++;
            uint32_t value = __atomic_load_n(&record[0], __ATOMIC_SEQ_CST) + 1;
            for (int i = 0; i < 16; i++) __atomic_store_n(&record[i], value, __ATOMIC_SEQ_CST);
            __atomic_fetch_sub(&record[33], 1, __ATOMIC_SEQ_CST);
            writes++;
        } else {
            __atomic_fetch_add(&record[32], 1, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&record[33], __ATOMIC_SEQ_CST) != 0) overlaps++;
            uint32_t first = __atomic_load_n(&record[0], __ATOMIC_SEQ_CST);
            for (int i = 1; i < 16; i++)
                if (__atomic_load_n(&record[i], __ATOMIC_SEQ_CST) != first) { if (rc != EOWNERDEAD) torn++; break; }
            __atomic_fetch_sub(&record[32], 1, __ATOMIC_SEQ_CST);
        }
        rc = prwlock_release(lock);
        if (rc != 0) { fprintf(stderr, "release: %s\n", prwlock_last_error()); return 2; }
        ops++;
    }
    printf("ops=%ld writes=%ld torn=%ld overlaps=%ld repaired=%ld\n", ops, writes, torn, overlaps, repaired);
    prwlock_close(lock);
    return torn == 0 && overlaps == 0 ? 0 : 1;
}
