/*
 * postgres_session.pml -- Promela model of the session protocol of PostgresRWLock
 * (docs/DESIGN.md "PostgreSQL (PostgresRWLock)"; Sources/PRWLockPostgres/AdvisoryLockSession.swift).
 * spec/README.md maps every element to the code and lists the abstractions; spec/check runs
 * every configuration, property and mutant.
 *
 * NT local tasks (2 or 3) of one process share one AdvisoryLockSession (an actor) and its one
 * connection. The actor runs one task at a time between awaits, so every actor step (the code
 * between two awaits) is one atomic block. What the server does while a task awaits (grant a
 * waiting request, fire lock_timeout, lose the connection) are steps of their own. One other
 * session (another process) takes and releases the server lock, shared or exclusive.
 *
 * Configuration (spin -D...):
 *   NT          local tasks, 2 or 3 (default 2)
 *   ROLE0..2    0 reads, 1 writes, 2 either, chosen each round (defaults 2, 2, 0)
 *   LIVE        endless rounds (liveness); otherwise ITER rounds per task (default 2)
 *   ORND        rounds of the other session (default 2)
 *   TMO         deadlines that may pass per run, queued or on the server (default 1)
 *   CAN         task cancellations per run (default 1)
 *   LOSS        connection losses per run (default 1)
 *   NO_TRY, NO_TIMED, NO_FOREVER   leave out try / timed / untimed acquisitions
 * Mutants: MUTANT_* (the #ifdef blocks below; spec/postgres_mutants/ lists them).
 *
 * Findings P1 and P2 (spec/README.md) are fixed in AdvisoryLockSession.swift as modelled here;
 * the code as it was before is kept as the mutants grant_loss and stale_lost:
 *   P1  an acquisition whose `connection` was dropped (connectionClosed ran) while its query
 *       was out fails (connectionFailed) instead of recording a hold the server no longer has
 *   P2  the release of the last hold sets `held = .none` (with serverBusy) before its unlock is
 *       sent, so a loss noticed during the unlock never sets lostReason
 * The join window (readers join a shared hold only within 10 ms of its grant) is `wopen`: set
 * at a shared grant, closed by the clock at any moment.
 */

#ifndef NT
#define NT 2
#endif
#ifndef ITER
#define ITER 2
#endif
#ifndef ORND
#define ORND 2
#endif
#ifndef TMO
#define TMO 1
#endif
#ifndef CAN
#define CAN 1
#endif
#ifndef LOSS
#define LOSS 1
#endif
#ifndef ROLE0
#define ROLE0 2
#endif
#ifndef ROLE1
#define ROLE1 2
#endif
#ifndef ROLE2
#define ROLE2 0
#endif

/* held, modes */
#define NONE 0
#define SH   1
#define EX   2
/* acquisition kinds */
#define FOREVER 0
#define TRY     1
#define TIMED   2
/* turn[t]: what a queued task's continuation was resumed with */
#define WAITING 0
#define JOINED  1
#define SERVER  2
#define LEFT    3          /* endWait: timedOut or CancellationError */
/* st: where a task is in acquire */
#define A_DONE   0
#define A_SRV    1         /* owns serverBusy, in acquireOnServer */
#define A_QUEUED 2
/* out: the state / result of the task's server query */
#define Q_NONE    0
#define Q_CONNECT 1        /* awaiting PostgresConnection.connect */
#define Q_PENDING 2        /* pg_advisory_lock waiting on the server */
#define Q_OK      3        /* granted / unlocked (true) */
#define Q_NO      4        /* try: not granted; unlock: false */
#define Q_TMO     5        /* SQLSTATE 55P03 (lock_timeout) */
#define Q_ERR     6        /* the query failed: connection gone, or 57014 after our cancel */

/* ------------------------------------------------------------------ the actor's state */
byte held;          /* Held: NONE, SH (with cnt), EX                                  */
byte cnt;           /* Held.shared(count); 0 unless held == SH                        */
bool lost;          /* lostReason != nil                                              */
bool wopen;         /* the read hold is younger than readerJoinWindow                 */
bool busy;          /* serverBusy                                                     */
byte conn = 1;      /* `connection`: 0 nil; 1 set and up; 2 set but closed, the watcher
                       (connectionClosed) has not run yet. Made at init.             */
byte q[3];          /* queue: task + 1, FIFO, ql entries                              */
byte ql;
byte md[3];         /* Waiter.mode of task t                                          */
byte turn[3];       /* the continuation of task t                                     */

/* ------------------------------------------------------------------ the server */
byte srvS, srvX;    /* shared / exclusive advisory locks this session holds (re-entrant counts) */
bool oS, oX;        /* the other session holds shared / exclusive                     */

/* ------------------------------------------------------------------ environment */
byte tmo = TMO;     /* deadlines that may still pass */
byte can = CAN;     /* cancellations that may still happen */
byte nloss = LOSS;  /* connection losses that may still happen */
byte finished;      /* finished processes (tasks + the other session) */

/* ------------------------------------------------------------------ ghosts */
byte cs[3];         /* task t holds (acquire returned true, release not called): SH / EX */
bool own[3];        /* task t took serverBusy and has not returned from acquire/release yet */
bool qd[3];         /* task t is in the queue                                         */
bool inq;           /* a query is outstanding on the connection                      */
bool acq;           /* the outstanding query is an acquisition                        */

#define COMPAT(m)  ((m) == SH -> !oX : (!oX && !oS))   /* our request vs the other session */
#define CANJOIN    (!busy && !lost && wopen)           /* canJoinReaders */
#define HEAD       (q[0] - 1)

inline grant(m) { if :: m == SH -> srvS++ :: else -> srvX++ fi }

inline dropConn() { conn = 0; srvS = 0; srvX = 0 }    /* the server ends the session */

inline deq() { q[0] = q[1]; q[1] = q[2]; q[2] = 0; ql-- }

/* grantTurns(): queued readers at the head join a shared hold; when nothing is held and the
   connection is free, the head gets serverBusy (and its turn to ask the server). */
inline grantTurns() {
  do
  :: ql > 0 && md[HEAD] == SH && held == SH && CANJOIN ->
       cnt++; turn[HEAD] = JOINED; qd[HEAD] = 0; deq()
  :: ql > 0 && held == NONE && !busy ->
       busy = 1; own[HEAD] = 1; turn[HEAD] = SERVER; qd[HEAD] = 0; deq(); break
  :: else -> break
  od
}

/* endWait(me): a still-queued waiter leaves (its deadline passed or it was cancelled) */
inline endWait() {
  if
  :: q[0] == me + 1 -> q[0] = q[1]; q[1] = q[2]
  :: q[1] == me + 1 -> q[1] = q[2]
  :: q[2] == me + 1 -> skip
  fi;
  q[2] = 0; ql--; qd[me] = 0; turn[me] = LEFT;
#ifndef MUTANT_NO_GRANT_AFTER_LEAVE
  grantTurns()
#endif
}

inline send(isAcq) { assert(!inq); inq = 1; acq = isAcq }   /* one query at a time */

/* acquireOnServer, up to its first await. Owns serverBusy. */
inline sendAcquire() {
  assert(held == NONE && srvS == 0 && srvX == 0);   /* an acquisition is sent only when nothing is held */
  if
  :: conn == 0 -> out = Q_CONNECT                   /* connected(): connect, pg_backend_pid */
  :: else -> sendQuery()
  fi
}
inline sendQuery() {
  send(1);
  if
  :: kind == TRY ->                                 /* pg_try_advisory_lock: answered at once */
     if
     :: conn == 1 && COMPAT(mode) -> grant(mode); out = Q_OK
     :: conn == 1 && !COMPAT(mode) -> out = Q_NO
     :: else -> out = Q_ERR
     fi
  :: else -> out = Q_PENDING                        /* pg_advisory_lock, lock_timeout set */
  fi
}

/* ------------------------------------------------------------------ local tasks */
proctype T(byte me; byte role) {
  byte mode, kind, st, out;
  bool got, canc, rdone;
#ifndef LIVE
  byte it;
#endif
  do
#ifdef LIVE
  :: true ->
#else
  :: it < ITER -> it++;
#endif
     if
     :: role != 1 -> mode = SH
     :: role != 0 -> mode = EX
     fi;
     if
#ifndef NO_FOREVER
     :: kind = FOREVER
#endif
#ifndef NO_TRY
     :: kind = TRY
#endif
#ifndef NO_TIMED
     :: kind = TIMED
#endif
     fi;

     /* ---- acquire(): the first actor step */
     atomic {
       md[me] = mode;
       if
       :: mode == SH && held == SH && CANJOIN && ql == 0 ->
            cnt++; got = 1; cs[me] = SH
#ifdef MUTANT_SEND_WHILE_HELD
       :: else -> if :: !busy && ql == 0 ->                  /* held == .none dropped */
#else
       :: else -> if :: held == NONE && !busy && ql == 0 ->
#endif
                         busy = 1; own[me] = 1; st = A_SRV;
#ifndef MUTANT_SEND_WHILE_HELD
                         sendAcquire()
#else
                         if :: conn == 0 -> out = Q_CONNECT :: else -> sendQuery() fi
#endif
                     :: else -> if :: kind == TRY -> skip        /* returns false */
                                   :: else ->                      /* waitForTurn: enqueue */
                                      q[ql] = me + 1; ql++; qd[me] = 1; turn[me] = WAITING; st = A_QUEUED
                                fi
                  fi
       fi
     };

     /* ---- queued: resumed by grantTurns, or leaves at its deadline / on cancellation */
     if
     :: st == A_QUEUED ->
        if
        :: atomic { turn[me] == JOINED -> got = 1; cs[me] = SH; turn[me] = WAITING; st = A_DONE }
        :: atomic { turn[me] == SERVER -> turn[me] = WAITING;
             if
             :: can > 0 -> can--;                 /* cancelled meanwhile: checkCancellation throws */
                busy = 0; own[me] = 0; grantTurns(); st = A_DONE
             :: true -> st = A_SRV; sendAcquire()
             fi }
        :: atomic { turn[me] == WAITING && ((kind == TIMED && tmo > 0) || can > 0) ->
             if :: kind == TIMED && tmo > 0 -> tmo-- :: else -> can-- fi;
             endWait(); turn[me] = WAITING; st = A_DONE }
        fi
     :: else -> skip
     fi;

     /* ---- the server acquisition (owns serverBusy) */
     if
     :: st == A_SRV ->
        if
        :: out == Q_CONNECT -> atomic { conn = 1; sendQuery() }   /* connection set, then the query */
        :: else -> skip
        fi;
        if
        :: out == Q_PENDING ->                    /* the server's side of the wait */
           if
           :: atomic { conn == 1 && COMPAT(mode) -> grant(mode); out = Q_OK }
           :: atomic { kind == TIMED && tmo > 0 -> tmo--; out = Q_TMO }
           :: atomic { kind == TIMED && tmo > 0 && conn == 1 && COMPAT(mode) ->
                       tmo--; grant(mode); out = Q_TMO }          /* granted, yet 55P03 */
           :: atomic { can > 0 -> can--; canc = 1; out = Q_ERR }  /* pg_cancel_backend: 57014 */
           :: atomic { conn != 1 -> out = Q_ERR }                 /* the connection went */
           fi
        :: else -> skip
        fi;
        /* the task resumes on the actor (after `canceller.finish()`) */
        atomic {
          inq = 0; acq = 0;
          if                                      /* the reply may be lost with the connection */
          :: conn != 1 && out != Q_ERR -> out = Q_ERR
          :: true -> skip
          fi;
#ifndef MUTANT_GRANT_LOSS
          if :: conn == 0 -> out = Q_ERR :: else -> skip fi   /* P1: `connection` is no longer ours */
#endif
          if                                      /* cancelled after the server answered */
          :: kind != TRY && !canc && can > 0 -> can--; canc = 1
          :: true -> skip
          fi;
          if
          :: canc ->                              /* finish() == true: close the session */
             dropConn(); busy = 0; own[me] = 0; grantTurns(); st = A_DONE
          :: else ->
             if
             :: out == Q_OK ->
                held = mode; cnt = (mode == SH -> 1 : 0);
                if :: mode == SH -> wopen = 1 :: else -> skip fi;   /* sharedSince = .now */
                busy = 0; own[me] = 0; grantTurns(); got = 1; cs[me] = mode; st = A_DONE
             :: out == Q_NO ->                    /* try: false */
                busy = 0; own[me] = 0; grantTurns(); st = A_DONE
             :: out == Q_ERR ->                   /* failure(): drops the session */
                dropConn();
                busy = 0; own[me] = 0; grantTurns(); st = A_DONE
             :: out == Q_TMO -> skip              /* releaseIfGrantedAfterTimeout */
             fi
          fi
        };
        if
        :: st == A_SRV ->                         /* pg_locks, then the unlock if granted */
           atomic {
#ifndef MUTANT_NO_PGLOCKS
             if
             :: conn == 1 ->
                if
                :: mode == SH && srvS > 0 -> srvS--
                :: mode == EX && srvX > 0 -> srvX--
                :: else -> skip
                fi
             :: else -> dropConn()                /* the check failed: failure() drops */
             fi;
#endif
             busy = 0; own[me] = 0; grantTurns(); st = A_DONE
           }
        :: else -> skip
        fi
     :: else -> skip
     fi;

     /* ---- release(mode) */
     if
     :: got ->
        atomic {
          cs[me] = 0;
          if
          :: mode == SH && held == SH && cnt > 1 -> cnt--; rdone = 1    /* throws lockLost if lost */
          :: else ->
             assert(held == mode);                /* never notHeld */
             if
             :: lost ->                           /* the last lost hold: throws lockLost */
                held = NONE; cnt = 0; lost = 0; grantTurns(); rdone = 1
             :: else ->
                busy = 1; own[me] = 1;
#ifndef MUTANT_STALE_LOST
                held = NONE; cnt = 0;             /* P2: before the unlock is awaited */
#endif
                if
                :: conn == 0 ->                   /* releaseOnServer: lockLost, no query; defer */
                   held = NONE; cnt = 0; busy = 0; own[me] = 0; grantTurns(); rdone = 1
                :: else ->
                   send(0);
                   if
                   :: conn == 1 && mode == SH && srvS > 0 -> srvS--; out = Q_OK
                   :: conn == 1 && mode == EX && srvX > 0 -> srvX--; out = Q_OK
                   :: conn == 1 && !((mode == SH && srvS > 0) || (mode == EX && srvX > 0)) -> out = Q_NO
                   :: conn == 2 -> out = Q_ERR
                   fi
                fi
             fi
          fi
        };
        if
        :: !rdone ->
           atomic {                               /* the unlock's answer; then the defer */
             inq = 0;
             if
             :: conn != 1 && out != Q_ERR -> out = Q_ERR
             :: true -> skip
             fi;
             if :: out == Q_ERR -> dropConn() :: else -> skip fi;
#ifdef MUTANT_STALE_LOST
             held = NONE; cnt = 0;                /* the code before P2's fix: in the defer */
#endif
             busy = 0; own[me] = 0; grantTurns()
           }
        :: else -> skip
        fi
     :: else -> skip
     fi;
     d_step { mode = 0; kind = 0; st = 0; out = 0; got = 0; canc = 0; rdone = 0 }
#ifndef LIVE
  :: it == ITER -> break
#endif
  od;
  finished++
}

/* ------------------------------------------------------------------ the connection */
/* A loss: the server ends the session (its locks and its waiting request go). Then the
   watcher task runs connectionClosed on the actor. */
active proctype connection() {
end:
  do
  :: atomic { nloss > 0 && conn == 1 -> nloss--; conn = 2; srvS = 0; srvX = 0 }
  :: atomic { conn == 2 ->                        /* connectionClosed(made) */
       conn = 0;
       if :: held != NONE && !lost -> lost = 1 :: else -> skip fi
     }
  od
}

/* ------------------------------------------------------------------ the join window */
/* readerJoinWindow passes at any moment after a shared grant. */
active proctype clock() {
end:
  do
  :: atomic { wopen -> wopen = 0 }
  od
}

/* ------------------------------------------------------------------ the other session */
/* Requests are queued by the server until compatible with what this session holds. */
active proctype other() {
  byte i;
  do
  :: i < ORND -> i++;
     if
     :: atomic { srvX == 0 -> oS = 1 }                 /* pg_advisory_lock_shared */
     :: atomic { srvX == 0 && srvS == 0 -> oX = 1 }    /* pg_advisory_lock */
     fi;
     d_step { oS = 0; oX = 0 }
  :: i == ORND -> break
  od;
  finished++
}

/* ------------------------------------------------------------------ properties */
#define INCOMPAT(t) (oX || (cs[t] == EX && oS))
#define P_MUTEX(a, b) (!(cs[a] == EX && cs[b] != NONE) && !(cs[b] == EX && cs[a] != NONE))
/* (1) mutual exclusion: locally, and against the other session unless the loss is known
   (lostReason) or has happened and its watcher has not run yet (conn == 2) */
#define P_SERVER(t) (cs[t] == NONE || !INCOMPAT(t) || lost || conn == 2)
#define MUTEX_OK (P_MUTEX(0, 1) && P_MUTEX(0, 2) && P_MUTEX(1, 2) \
  && P_SERVER(0) && P_SERVER(1) && P_SERVER(2))
/* (2) consistency: every local holder is counted in `held`; when no server query runs and no
   loss is pending, `held` is exactly what the session holds on the server; lostReason only
   with something held; never two holds of one session on the server; one query at a time,
   and an acquisition only with nothing held */
#define BACKED(t) (cs[t] == NONE || held == cs[t])
#define MATCH (busy || lost || conn == 2 || (held == NONE && srvS + srvX == 0) \
  || (held == SH && srvS == 1 && srvX == 0 && cnt > 0) || (held == EX && srvX == 1 && srvS == 0))
#define ONEQ ((!inq || busy) && (!acq || held == NONE))
#define CONSIST_OK (BACKED(0) && BACKED(1) && BACKED(2) && MATCH && (!lost || held != NONE) \
  && srvS + srvX <= 1 && ONEQ)
/* (4) serverBusy is set exactly while one task is in a server step */
#define BUSY_OK ((busy -> (own[0] + own[1] + own[2] == 1) : (own[0] + own[1] + own[2] == 0)))
/* (3) no needless wait: between actor steps the head of the queue cannot go on (grantTurns
   has run after every change that could let it) */
#define GRANTABLE (ql > 0 && ((md[HEAD] == SH && held == SH && CANJOIN) || (held == NONE && !busy)))
#define INV (MUTEX_OK && CONSIST_OK && BUSY_OK && !GRANTABLE)

#ifndef LIVE
/* On a violation the first failing assertion names the invariant. */
active proctype monitor() {
end: atomic { !INV ->
       assert(P_MUTEX(0, 1) && P_MUTEX(0, 2) && P_MUTEX(1, 2));              /* local mutual exclusion */
       assert(P_SERVER(0) && P_SERVER(1) && P_SERVER(2));                     /* exclusion against the other session */
       assert(BACKED(0) && BACKED(1) && BACKED(2));                           /* holders counted in held */
       assert(MATCH);                                                         /* held == the session's server lock */
       assert(!lost || held != NONE);                                         /* lostReason only with something held */
       assert(srvS + srvX <= 1);                                              /* one server hold per session */
       assert(ONEQ);                                                          /* one query, acquisitions with nothing held */
       assert(BUSY_OK);                                                       /* serverBusy == a task in a server step */
       assert(!GRANTABLE) }                                                   /* no queued task that could go on */
}

/* (3) when every task and the other session are done: nothing queued, held, busy or lost,
   and the session holds nothing on the server (no leaked lock) */
init {
  atomic {
    run T(0, ROLE0); run T(1, ROLE1);
#if NT == 3
    run T(2, ROLE2)
#endif
  };
  finished == NT + 1 ->
  assert(ql == 0 && held == NONE && !busy && !lost && srvS + srvX == 0)
}
#else
init {
  atomic {
    run T(0, ROLE0); run T(1, ROLE1);
#if NT == 3
    run T(2, ROLE2)
#endif
  }
}
#endif

/* every queued task eventually goes on or leaves; serverBusy is always cleared again */
ltl queued0 { [] (qd[0] -> <> !qd[0]) }
ltl queued1 { [] (qd[1] -> <> !qd[1]) }
ltl busyfree { [] (busy -> <> !busy) }
