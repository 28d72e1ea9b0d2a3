/*
 * prwlock.pml -- Promela model of the swift-prwlock protocol, layout version 2 (the readers set):
 * v1 as built (docs/DESIGN.md; Sources/PRWLock/Protocol/LockCore*.swift, WaitClock.swift) with the
 * readers set AR (two words here) and its summary S, the BIASED flag of R[s] (bias B1-B2 on the
 * read fast path R4 and the slow path R6b, and in downgrade), writers scanning S and AR instead of
 * the attached bitmap, the revocation V1-V4 of an idle biased slot by the draining W owner,
 * recovery's repair of AR and S (C1) and C2b, and W's NEXT field (WS1 take NEXT, WS2 claim as
 * NEXT, WN give it up; shared with the upgradable holder), with the properties P-SET, P-WNEXT,
 * NEXT kept / no phantom NEXT, and (-DBOUND) P-WBOUND and P-RBOUND.
 * spec/README.md maps every element to the code and lists the abstractions; spec/check runs
 * every configuration, property and mutant.
 *
 * NP participants (2 or 3, one thread each); participant p owns slot p. Every access of the code
 * to a shared word is one Promela step; an `atomic` holds exactly one such access plus local and
 * ghost bookkeeping (the exceptions, all stutter-equivalent, are listed in the README). A
 * participant can die between any two steps: the killer sets alive[v] = 0 and drops every OFD
 * byte lock of v's file description, and v's body is abandoned through `unless { !alive[me] }`.
 *
 * Configuration (spin -D...):
 *   NP          participants, 2 or 3 (default 3)
 *   ROLE0..2    0 reads, 1 writes, 2 either, chosen each round (defaults 1, 2, 0);
 *               with UPG also 3 upgradable holds, 4 any of the three
 *   LIVE        endless rounds (liveness); otherwise ITER0..2 rounds (default ITER, 2)
 *   MAXKILL     deaths per run (default 1); a dead participant may restart and re-attach
 *   SPUR        spurious futex wake-ups per run (default 1)
 *   PHASES      reader phases that may run out (the 2 ms bound) per run (default 1)
 *   TMO         deadlines that may pass per run (default 1): time-outs are finitely many
 *   REVOKE      revocations (V1-V3) a draining W owner may start per run (default 1); the code
 *               revokes when its scan visits more than 8 set slots: here a nondeterministic choice
 *   NO_TRY, NO_TIMED, NO_FOREVER   leave out try / timed / untimed acquisitions
 *   BOUND       the ghosts of the bounded-overtaking properties P-WBOUND and P-RBOUND (off by
 *               default: they multiply the states; spec/check runs them in the bound-* configurations)
 *   MUTANT_PHASE_SPIN  finding 1 as it was built: a writer's sleeps stay bounded by an expired phase
 *   UPG         upgradable holds (LockCore+Upgrade.swift): acquireUpgradable, upgrade, downgrade,
 *               releaseUpgradable, their recovery. W's NEXT bits (slot + 1 of the upgradable holder
 *               or of the writer that writes next) are in every configuration.
 * Mutants: MUTANT_* (the #ifdef blocks below; spec/mutants/ lists them).
 */

#define N 3                         /* array size; participants use slots 0..NP-1 */
#ifndef NP
#define NP 3
#endif
#define RS 128                      /* READERS_SLEEPING (bit 31 of W)      */
#define OWN(w) ((w) & 15)           /* OWNER = slot + 1; 0: no writer (bits 0-15 of W) */
#define NXT(w) (((w) >> 4) & 7)     /* NEXT = slot + 1 (bits 16-26 of W): the upgradable holder
                                       (holdsUpgradable = 1) or the writer that writes next */
#define NBITS(s) (((s) + 1) << 4)
#define NMASK 112
/* AR is 16 words of 64 bits in the code; here 2 "words": slots 0 and 1 in word 0, slot 2 in word 1 */
#define WD(k) ((k) >> 1)            /* the AR word of slot k */
#define WM(x) ((x) == 0 -> 3 : 4)   /* the slots of AR word x */

#ifndef ITER
#define ITER 2
#endif
#ifndef ITER0
#define ITER0 ITER
#endif
#ifndef ITER1
#define ITER1 ITER
#endif
#ifndef ITER2
#define ITER2 ITER
#endif
#ifndef MAXKILL
#define MAXKILL 1
#endif
#ifndef SPUR
#define SPUR 1
#endif
#ifndef PHASES
#define PHASES 1
#endif
#ifndef TMO
#define TMO 1
#endif
#ifndef REVOKE
#define REVOKE 1
#endif
#ifndef ROLE0
#define ROLE0 1
#endif
#ifndef ROLE1
#define ROLE1 2
#endif
#ifndef ROLE2
#define ROLE2 0
#endif

#define FOREVER 0
#define TRY     1
#define TIMED   2
#define AGAIN    0
#define CHECK    1
#define DEADLINE 2

/* ------------------------------------------------------------------ shared memory */
byte W;             /* lock word                                                  */
bool EWS;           /* E bit 0, WRITERS_SLEEPING                                   */
bool bumped[N];     /* E's sequence has moved since p's snapshot (abstracts bits 1-31) */
bool ownerDied;
byte R[N];          /* slot.readers: the count (bits 0-30 of the word)            */
bool BI[N];         /* slot.readers: BIASED (bit 31); one code access of the word = one step on both */
byte WR[N];         /* slot.waitingReaders (WQ)                                   */
byte AR;            /* the readers set: bit s = slot s may have readers (words: WD, WM) */
byte S;             /* the summary: bit x = AR word x may be non-zero              */
bool HW[N];         /* slot.holdsWrite                                            */
bool HU[N];         /* slot.holdsUpgradable: read only by its own participant (and zeroed by
                       clear), so its accesses are folded into the neighbouring W step    */
bool isN[N];        /* the writer's local isNext (acquireWriteSlow); a global array only so
                       that the killer resets it and the properties read it               */
bool ST[N];         /* slot.state                                                 */
byte BM;            /* attached bitmap word (bit s)                               */
byte SLK[N];        /* OFD lock on byte s of the file: holder participant + 1, 0 free */

/* kernel futex queues */
bool qW[N];
bool qE[N];

/* environment */
bool alive[N];
bool running[N];
byte kills;
byte spur = SPUR;
byte phases = PHASES;
byte tmo = TMO;          /* deadlines that may pass in a run */
byte revoke = REVOKE;    /* revocations that may be started in a run */

/* ghosts: read only by the properties */
bool inR[N];        /* holds for read                                             */
bool inW[N];        /* holds for write: holdsWrite = 1 until WR2                  */
bool att[N];        /* attach finished: the participant is up                     */
bool rd[N];         /* inside a read acquire, hold or release                     */
bool wr[N];         /* inside a write acquire, hold or release                    */
bool waiting[N];    /* inside a blocking (non-try) acquire                        */
bool mustNotice;    /* a writer died with holdsWrite = 1 and no writer that was told has
                       finished its release since                                  */
byte hwDeaths;      /* deaths with holdsWrite = 1 so far                          */
byte rvk;           /* slot + 1 while W's owner is inside the revocation of it (from V2 to the end
                       of V3); if that owner dies there, until recovery's repair of the slot or the
                       release of its W: the exception of I-SET                    */
bool qp[N];         /* the slot's reader is between R6 (WQ += 1) and R6b's bias (B1) or its load that
                       found BIASED; a dead one's until clear resets WQ: I-SET's second exception */
byte jw[N];         /* bit x: p set a bit of AR word x (B1, V3's re-add, the repair) while S's bit x
                       was clear, and S's bit x has not been set since (p is between its AR step
                       and its S step, or died there): the exception of the summary part of P-SET */
byte rv4;           /* word + 1 while W's owner is inside V4 of that word (S's bit cleared, the
                       re-check not done); a dead owner's until the repair of S or the release of
                       its W, or until somebody sets the bit                               */
#ifdef BOUND
/* P-WBOUND: ngr[p] = write claims since p took NEXT, counting the owner of W at that moment */
byte ngr[N];
/* P-RBOUND: visb bit r: reader r is queued and visible (WQ in AR and S: after R6b); rcnt[r]:
   write claims since then by writers that are not a try, not an upgrade, and whose reader phase
   has not run out; rxb bit r: excused (a death while it waited); inflt bit q: writer q is between the start of its queued-reader scan and its claim
   (or the next iteration); blind[q] bit r: q's scan may have missed r (r became visible during
   or after it, or r's bit was out of its snapshot: a revocation window) */
byte visb, rxb, inflt;
byte rcnt[N], blind[N];
#endif
#ifdef UPG
bool inU[N];        /* holds upgradable: from the CAS that sets NEXT (U1) until the CAS that clears
                       it (releaseUpgradable, or the write release of an upgraded hold)     */
bool up[N];         /* in an upgradable round (acquire, hold, upgrade, downgrade, release)  */
#endif

/* Ghost bookkeeping of the bounded-overtaking properties (-DBOUND); empty without it. */
#ifdef BOUND
#define BL1(q, r) if :: (inflt >> (q)) & 1 -> blind[q] = blind[q] | (1 << (r)) :: else -> skip fi
#define VIS_ON(r) visb = visb | (1 << (r)); BL1(0, r); BL1(1, r); BL1(2, r)
#define VIS_OFF(r) visb = visb & ~(1 << (r)); rxb = rxb & ~(1 << (r)); rcnt[r] = 0
#define NEWITER inflt = inflt & ~(1 << me); blind[me] = 0
#define SB1(r) if :: ((visb >> (r)) & 1) && !((S >> WD(r)) & 1) -> blind[me] = blind[me] | (1 << (r)) :: else -> skip fi
#define WB1(r) if :: ((visb >> (r)) & 1) && !((AR >> (r)) & 1) -> blind[me] = blind[me] | (1 << (r)) :: else -> skip fi
#define QSCAN_G0 inflt = inflt | (1 << me); blind[me] = 0; SB1(0); SB1(1); SB1(2)
#define QSCAN_G1(x) if :: (x) == 0 -> WB1(0); WB1(1) :: else -> WB1(2) fi
#ifdef BOUND_NOSTALE
/* P-RBOUND without the stale-scan excuse: the property as first stated (fails: spec/README.md) */
#define CNT1(r) if :: (r) != me && ((visb >> (r)) & 1) -> rcnt[r]++ :: else -> skip fi
#else
#define CNT1(r) if :: (r) != me && ((visb >> (r)) & 1) && !((blind[me] >> (r)) & 1) -> rcnt[r]++ :: else -> skip fi
#endif
#define NG1(p) if :: (p) != me && isN[p] -> ngr[p]++ :: else -> skip fi
#define NCLAIM_G NG1(0); NG1(1); NG1(2)
/* a claim by me: counted against every visible reader it may not overtake (not a try, not an
   upgrade: see the README), and against every NEXT writer */
#define CLAIM_G CNT1(0); CNT1(1); CNT1(2); NEWITER; NCLAIM_G
#define TRYCLAIM_G NEWITER; NCLAIM_G
#ifdef BOUND_COUNT_UPG
/* P-RBOUND counting upgrades too (they do not defer to queued readers: fails, spec/README.md) */
#define UPGCLAIM_G CNT1(0); CNT1(1); CNT1(2); NCLAIM_G
#else
#define UPGCLAIM_G NCLAIM_G
#endif
#define NTAKE_G(w) ngr[me] = (OWN(w) != 0)
#define NLEAVE_G ngr[me] = 0
#else
#define VIS_ON(r) skip
#define VIS_OFF(r) skip
#define NEWITER skip
#define QSCAN_G0 skip
#define QSCAN_G1(x) skip
#define CLAIM_G skip
#define TRYCLAIM_G skip
#define NCLAIM_G skip
#define UPGCLAIM_G skip
#define NTAKE_G(w) skip
#define NLEAVE_G skip
#endif

/* ------------------------------------------------------------------ futexes */
inline wakeAllW() { d_step { qW[0] = 0; qW[1] = 0; qW[2] = 0 } }

inline wakeAllE() {
#ifdef MUTANT_WAKE_ONE
  if                                         /* futex_wake(E, 1) */
  :: d_step { qE[0] -> qE[0] = 0 }
  :: d_step { qE[1] -> qE[1] = 0 }
  :: d_step { qE[2] -> qE[2] = 0 }
  :: d_step { !qE[0] && !qE[1] && !qE[2] -> skip }
  fi
#else
  d_step { qE[0] = 0; qE[1] = 0; qE[2] = 0 }
#endif
}

/* WaitClock.sleep + futex_wait(W, v). A timed waiter may find its deadline passed on entry.
   Compare-and-block is one step. A blocked waiter leaves when woken, spuriously (SPUR budget),
   at a 5 ms liveness slice -- enabled only once somebody has died, so that among live
   participants every wake-up must come from a futex_wake (a lost wake-up is then an invalid end
   state or a liveness violation) -- or at its deadline. */
inline sleepW(v) {
  if
  :: d_step { mode == TIMED && tmo > 0 -> tmo--; res = DEADLINE }
  :: true ->
     d_step { if :: W == v -> qW[me] = 1 :: else -> skip fi }
     if
     :: d_step { !qW[me] -> res = AGAIN }
     :: d_step { qW[me] && spur > 0 -> spur--; qW[me] = 0; res = AGAIN }
     :: d_step { qW[me] && kills > 0 -> qW[me] = 0; res = CHECK }
     :: d_step { qW[me] && mode == TIMED && tmo > 0 -> tmo--; qW[me] = 0; res = DEADLINE }
     fi
  fi
}

/* futex_wait(E, snapshot). pa: the wait passes wakeBy: phaseEnd; once the phase is over that
   bound is in the past and futex_wait returns ETIMEDOUT at once. */
inline sleepE(pa) {
  if
  :: d_step { mode == TIMED && tmo > 0 -> tmo--; res = DEADLINE }
  :: (pa) && phaseOver -> res = AGAIN
  :: else ->
     d_step { if :: !bumped[me] -> qE[me] = 1 :: else -> skip fi }
     if
     :: d_step { !qE[me] -> res = AGAIN }
     :: d_step { qE[me] && spur > 0 -> spur--; qE[me] = 0; res = AGAIN }
     :: d_step { qE[me] && kills > 0 -> qE[me] = 0; res = CHECK }
     :: d_step { qE[me] && mode == TIMED && tmo > 0 -> tmo--; qE[me] = 0; res = DEADLINE }
     :: d_step { qE[me] && (pa) && !phaseOver && phases > 0 -> phases--; phaseOver = 1; qE[me] = 0; res = AGAIN }
     fi
  fi
}

/* wakeWriters(): load E; if WRITERS_SLEEPING: CAS E to (e + 2) & ~1 (retried while the bit is
   set), then futex_wake(E, all). Load and successful CAS are one step (a failed CAS changes
   nothing); a load that sees the bit clear is the same step finding nothing to do. */
inline wakeWriters() {
  d_step { if :: EWS -> EWS = 0; bumped[0] = 1; bumped[1] = 1; bumped[2] = 1; ew = 1 :: else -> skip fi }
  if :: ew -> ew = 0; wakeAllE() :: else -> skip fi
}

/* prepareToWaitOnEvent(): CAS the bit in; the value it returns is the snapshot. */
inline prepareE() { d_step { EWS = 1; bumped[me] = 0 } }

/* ------------------------------------------------------------------ the readers set and S */
/* addToReadersSet(k) (B1, V3's re-add, the repair): fetch_or(AR word, bit k), then
   markInSummary: load S; if its bit is clear, fetch_or(S, bit): up to three steps. The ghost jw
   records an AR step made while S's bit was clear; any step that sets S's bit ends every such
   exception of that word (and rv4's). */
#define AR_ADD(k) if :: !((S >> WD(k)) & 1) -> jw[me] = jw[me] | (1 << WD(k)) :: else -> skip fi; AR = AR | (1 << (k))
#define S_SET(x) S = S | (1 << (x)); jw[0] = jw[0] & ~(1 << (x)); jw[1] = jw[1] & ~(1 << (x)); \
  jw[2] = jw[2] & ~(1 << (x)); if :: rv4 == (x) + 1 -> rv4 = 0 :: else -> skip fi
#define ENSURE_S(x) if \
  :: d_step { ((S >> (x)) & 1) -> skip } \
  :: d_step { !((S >> (x)) & 1) -> skip }; d_step { S_SET(x) } \
  fi

/* ------------------------------------------------------------------ recovery */
/* clear(s): "Death and recovery" steps 1-4 (attach clears its own slot the same way).
   word = load W; if OWNER is s+1: C1 the notice, then REPAIR of the readers set -- for every slot
   t: load WQ[t], if 0 load R[t] (count or BIASED), if either is not 0 addToReadersSet(t); then for
   every AR word: if it is not 0, markInSummary -- then the CAS of W's owner out, to 0 if NEXT is
   s+1 too, else keeping NEXT (another writer's place) (the CAS loop is one step: only the dead
   owner's W, which nobody else releases). Then, while NEXT(word) is s+1 and OWNER(word) is not:
   CAS NEXT out, from `word` (the first load, or the value a failed CAS reloaded). C2: R[s] = 0
   (count and BIASED, one store), WQ[s] = 0, holdsWrite = 0, holdsUpgradable = 0; C2b:
   fetch_and(AR word, ~bit s) -- never S; then the bitmap bit, state, wakeWriters as v1. */
/* V3 / the repair of one slot: load WQ[k]; if 0 load R[k]; if either is not 0, addToReadersSet(k).
   The ghost rvk (the I-SET exception of slot k) ends with the step that decides. The queue count
   first: spec/README.md finding 5 (fixed in the code); MUTANT_READD_R_FIRST is the old order, R
   first, which misses a queued reader that biases (B2) after the load of R and leaves its queue
   (WQ -= 1) before the load of WQ. ve (V2 emptied the word) is cleared by a re-add: no V4 then. */
#define RVK_END(k) if :: rvk == (k) + 1 -> rvk = 0 :: else -> skip fi
#ifdef MUTANT_READD_R_FIRST
#define READD_L1(k) (R[k] != 0 || BI[k])
#define READD_L2(k) (WR[k] != 0)
#else
#define READD_L1(k) (WR[k] != 0)
#define READD_L2(k) (R[k] != 0 || BI[k])
#endif
#define READD(k) \
  d_step { if :: READD_L1(k) -> vr = 1 :: else -> skip fi }; \
  if :: d_step { !vr -> if :: READD_L2(k) -> vr = 1 :: else -> RVK_END(k) fi } :: else -> skip fi; \
  if :: d_step { vr -> vr = 0; ve = 0; AR_ADD(k); RVK_END(k) }; ENSURE_S(WD(k)) :: else -> skip fi
/* the repair's second loop, word x: load it; not 0: markInSummary(x) */
#define RSW(x) if \
  :: d_step { (AR & WM(x)) != 0 -> skip }; ENSURE_S(x) \
  :: d_step { (AR & WM(x)) == 0 -> if :: rv4 == (x) + 1 -> rv4 = 0 :: else -> skip fi } \
  fi
#ifdef MUTANT_NO_REPAIR
#define REPAIR skip
#elif NP == 3
#define REPAIR READD(0); READD(1); READD(2); RSW(0); RSW(1)
#else
#define REPAIR READD(0); READD(1); RSW(0)
#endif
#ifdef MUTANT_CLEAR_KEEPS_DEAD_NEXT
#define DEADNEXT_OK(cw) (OWN(cw) == 0)           /* the dead slot's NEXT only when W has no owner */
#else
#define DEADNEXT_OK(cw) (OWN(cw) != s + 1)       /* whoever owns W */
#endif
inline clear(s) {
  d_step { cw = W }
  if
  :: OWN(cw) == s + 1 ->
#if defined(MUTANT_OD_ALWAYS)
     ownerDied = 1;
#elif defined(MUTANT_OD_NEVER)
     skip;
#else
     if :: HW[s] -> ownerDied = 1 :: else -> skip fi;
#endif
     REPAIR;                                                   /* C1: repair of AR and S */
     d_step { if :: OWN(W) == s + 1 -> ct = ((W & RS) != 0);
                    if :: NXT(W) == s + 1 -> W = 0 :: else -> W = W & NMASK fi;
                    cw = 0; rvk = 0; rv4 = 0
              :: else -> cw = W fi }
     if :: ct -> ct = 0; wakeAllW() :: else -> skip fi
  :: else -> skip
  fi;
#ifndef MUTANT_CLEAR_KEEPS_UPG
  do
  :: DEADNEXT_OK(cw) && NXT(cw) == s + 1 ->
     d_step { if :: W == cw -> W = cw & ~NMASK; cw = 0 :: else -> cw = W fi }
  :: else -> break
  od;
#endif
  cw = 0;
#ifndef MUTANT_CLEAR_KEEPS_R
  d_step { R[s] = 0; BI[s] = 0 };                              /* C2 */
#endif
  d_step { WR[s] = 0; qp[s] = 0 };
  d_step { HW[s] = 0; HU[s] = 0 };
#ifndef MUTANT_CLEAR_KEEPS_AR
  AR = AR & ~(1 << s);                                         /* C2b */
#endif
  BM = BM & ~(1 << s);
  ST[s] = 0;
  wakeWriters()
}

/* recoverIfDead(rs): never our own slot; F_OFD_SETLK on byte rs; when won and the slot has
   state, clear it; unlock. slotHasState is one step: under the slot lock of a dead owner nobody
   else writes those fields. */
inline recoverIfDead() {
  if
  :: rs != me ->
     d_step { if :: SLK[rs] == 0 -> SLK[rs] = me + 1; lk = 1 :: else -> skip fi }
     if
     :: lk ->
        if
        :: d_step { (ST[rs] || OWN(W) == rs + 1 || NXT(W) == rs + 1 || ((BM >> rs) & 1) || R[rs] != 0 || BI[rs] || WR[rs] != 0) ->
                    assert(!att[rs]) }        /* the slot lock is never won over a live participant */
           clear(rs); rec = 1
        :: else -> skip
        fi;
        d_step { SLK[rs] = 0; lk = 0; rs = 0 }
     :: else -> rs = 0
     fi
  :: else -> rs = 0
  fi
}

/* firstSlotInReadersSet / slotsInReadersSet (v1: the attached bitmap): one load of S, then one load
   of each AR word S flags (the snapshot: bits 0-2 = the slots seen, bits 4-5 = S), then one load
   per set slot. The own slot is skipped: a one-thread participant never waits to read or reads
   while it writes (so it is never busy, and revoking its own idle slot touches nothing another
   participant reads before its own next read re-biases it).
   busyReaderSlot (the drain, by W's owner): a slot seen idle and biased (count 0, BIASED: the same
   load) may be revoked (REVOKE budget): V1 CAS(R[j]: BIASED|0 -> 0), failing: skip j; V2
   old = fetch_and(AR word, ~bit j) (ve: the word became empty); V3 (READD) re-add if WQ[j] or
   R[j] is not 0; V4 only if V2 emptied the word and V3 did not re-add: fetch_and(S, ~bit), then
   load the AR word, if not 0 fetch_or(S, bit). Then the scan goes on. */
#define O1 ((me + 1) % NP)
#define O2 ((me + 2) % NP)
#if NP == 3
#define SCAN(v, G0, G1) d_step { v = S << 4; G0 }; \
  if :: d_step { (v >> 4) & 1 -> v = v | (AR & 3); G1(0) } :: else -> skip fi; \
  if :: d_step { (v >> 5) & 1 -> v = v | (AR & 4); G1(1) } :: else -> skip fi
#else
#define SCAN(v, G0, G1) d_step { v = S << 4; G0 }; \
  if :: d_step { (v >> 4) & 1 -> v = v | (AR & 3); G1(0) } :: else -> skip fi
#endif
#define NOG skip
#define NOG1(x) skip
#define QCHK(k) if :: qd == 0 && ((snap >> (k)) & 1) && WR[k] != 0 -> qd = (k) + 1; snap = 0 :: else -> skip fi
#ifdef MUTANT_REVOKE_BUSY
#define V1(k) d_step { R[k] = 0; BI[k] = 0; vk = 1; revoke-- }          /* a store, not the CAS */
#else
#define V1(k) d_step { if :: R[k] == 0 && BI[k] -> BI[k] = 0; vk = 1 :: else -> skip fi; revoke-- }
#endif
#ifdef MUTANT_REVOKE_NO_READD
#define V3(k) d_step { rvk = 0 }
#else
#define V3(k) READD(k)
#endif
#ifdef MUTANT_SUMMARY_NO_RECHECK
#define V4(x) if :: d_step { ve -> ve = 0; S = S & ~(1 << (x)) } :: else -> skip fi
#else
#define V4(x) if \
  :: d_step { ve -> ve = 0; S = S & ~(1 << (x)); rv4 = (x) + 1 }; \
     if \
     :: d_step { (AR & WM(x)) != 0 -> skip }; d_step { S_SET(x) } \
     :: d_step { (AR & WM(x)) == 0 -> rv4 = 0 } \
     fi \
  :: else -> skip \
  fi
#endif
#define REVK(k) \
  V1(k); \
  if \
  :: d_step { vk -> vk = 0; AR = AR & ~(1 << (k)); ve = ((AR & WM(WD(k))) == 0); rvk = (k) + 1 };  /* V2 */ \
     V3(k); \
     V4(WD(k)) \
  :: else -> skip \
  fi
#define BCHK(k) if \
  :: bz == 0 && ((snap >> (k)) & 1) && R[k] != 0 -> bz = (k) + 1; snap = 0 \
  :: bz == 0 && ((snap >> (k)) & 1) && R[k] == 0 && BI[k] && revoke > 0 -> REVK(k) \
  :: bz == 0 && ((snap >> (k)) & 1) && R[k] == 0 -> skip \
  :: else -> skip fi
#define RQ(k) if :: ((rsnap >> (k)) & 1) && WR[k] != 0 -> rs = (k); recoverIfDead() :: else -> skip fi
#define RR(k) if :: ((rsnap >> (k)) & 1) && R[k] != 0 -> rs = (k); recoverIfDead() :: else -> skip fi
#if NP == 3
inline queuedReaderSlot() { SCAN(snap, QSCAN_G0, QSCAN_G1); QCHK(O1); QCHK(O2); snap = 0 }
inline busyReaderSlot()   { SCAN(snap, NOG, NOG1); BCHK(O1); BCHK(O2); snap = 0 }
#define RQALL RQ(O1); RQ(O2)
#define RRALL RR(O1); RR(O2)
#else
inline queuedReaderSlot() { SCAN(snap, QSCAN_G0, QSCAN_G1); QCHK(O1); snap = 0 }
inline busyReaderSlot()   { SCAN(snap, NOG, NOG1); BCHK(O1); snap = 0 }
#define RQALL RQ(O1)
#define RRALL RR(O1)
#endif

inline recoverDeadBlockers(ow, q) {
  if :: ow != 0 -> rs = ow - 1; recoverIfDead() :: else -> skip fi;
  if :: q != 0 -> SCAN(rsnap, NOG, NOG1); RQALL; rsnap = 0 :: else -> skip fi
}
inline recoverDeadReaders() { SCAN(rsnap, NOG, NOG1); RRALL; rsnap = 0 }

/* ------------------------------------------------------------------ read */
/* bias(me): B1 addToReadersSet(me): fetch_or(AR word, bit me), load S, if its bit is clear
   fetch_or(S, bit); B2 fetch_or(R[me], BIASED). In this order. A queued reader (WQ != 0) is
   visible to writers from B2 on (ghost of P-RBOUND). */
inline bias() {
  d_step { AR_ADD(me); qp[me] = 0 }               /* B1 */
  ENSURE_S(WD(me));
  d_step { BI[me] = 1;                            /* B2 */
#ifdef BOUND
           if :: WR[me] != 0 && !((visb >> me) & 1) -> VIS_ON(me) :: else -> skip fi
#endif
  }
}

/* tryEnterRead: R1 prev = fetch_add(R[me], 1) (old count and BIASED); R2 load W; R3 no owner and
   BIASED(prev): granted; R4 no owner, not biased: bias(me), then R4b load W: no owner: granted.
   Otherwise back off: fetch_sub of the count, wake writers if it became 0 and W is owned. */
inline tryEnterRead() {
#ifdef MUTANT_DEKKER
  d_step { w = OWN(W); rd[me] = 1 }               /* looks at W before publishing */
  d_step { pb = BI[me]; R[me]++;
#else
  d_step { pb = BI[me]; R[me]++; rd[me] = 1 }     /* R1 */
  d_step { w = OWN(W);                            /* R2, R3 */
#endif
#ifdef MUTANT_IGNORE_BIAS
           if :: w == 0 -> got = 1; inR[me] = 1; waiting[me] = 0 :: else -> skip fi; pb = 0 }
#else
           if :: w == 0 && pb -> got = 1; inR[me] = 1; waiting[me] = 0 :: else -> skip fi; pb = 0 }
#endif
  if
  :: !got && w == 0 ->                            /* R4 */
     bias();
     d_step { w = OWN(W); if :: w == 0 -> got = 1; inR[me] = 1; waiting[me] = 0 :: else -> skip fi }   /* R4b */
  :: else -> skip
  fi;
  if
  :: !got ->
     d_step { w = 0; R[me]--; left = R[me] }     /* back off */
     if
     :: d_step { left == 0 && OWN(W) != 0 -> left = 0 }; wakeWriters()
     :: else -> left = 0
     fi
  :: else -> w = 0
  fi
}

inline acquireRead() {
  tryEnterRead();                                 /* acquireRead's fast path */
  if
  :: got -> skip
  :: else ->
     tryEnterRead();                              /* acquireReadSlow's first attempt */
     if
     :: got -> skip
     :: else ->
        if
        :: mode == TRY ->
           d_step { w = OWN(W) }                  /* one liveness check of the writer in the way */
           if
           :: w != 0 -> rs = w - 1; w = 0; recoverIfDead();
              if :: rec -> rec = 0; tryEnterRead() :: else -> skip fi
           :: else -> skip
           fi
        :: else ->
#ifndef MUTANT_QUEUE_NO_BIAS
           d_step { WR[me]++; waiting[me] = 1; qp[me] = 1 }  /* R6 */
           if                                     /* R6b: load R[me]; not BIASED: bias(me) */
           :: d_step { BI[me] -> qp[me] = 0; VIS_ON(me) }
           :: else -> bias()
           fi;
#else
           d_step { WR[me]++; waiting[me] = 1 }  /* R6, and no R6b */
#endif
rloop: skip;
           /* load W; if owned and RS clear, CAS RS in (load + successful CAS as one step;
              a failed CAS only reloads) */
           d_step { w = W; if :: OWN(w) != 0 && (w & RS) == 0 ->
#ifndef MUTANT_NO_RS_SET
                                 W = w | RS; w = w | RS
#else
                                 skip
#endif
                             :: else -> skip fi }
           if
           :: OWN(w) == 0 ->
              w = 0;
              tryEnterRead();
              if :: got -> goto rdone :: else -> goto rloop fi
           :: else -> skip
           fi;
           sleepW(w);
           if
           :: res == AGAIN -> res = 0; w = 0; goto rloop
           :: res == CHECK -> res = 0; rs = OWN(w) - 1; w = 0; recoverIfDead(); rec = 0; goto rloop
           :: res == DEADLINE -> res = 0; rs = OWN(w) - 1; w = 0; recoverIfDead();
              if :: rec -> rec = 0; goto rloop :: else -> skip fi
           fi;
rdone:     skip;
           d_step { WR[me]--; waiting[me] = 0; if :: !got -> rd[me] = 0 :: else -> skip fi; VIS_OFF(me) }
           wakeWriters()                          /* the defer: a writer may defer to us */
        fi
     fi
  fi;
  if :: !got -> d_step { rd[me] = 0; waiting[me] = 0 } :: else -> skip fi
}

/* RR1-RR2 */
inline releaseRead() {
  d_step { assert(R[me] > 0); left = R[me]; R[me]--; inR[me] = 0; rd[me] = 0 }
  if
  :: d_step { left == 1 && OWN(W) != 0 -> left = 0 }; wakeWriters()
  :: else -> left = 0
  fi
}

/* ------------------------------------------------------------------ write */
inline hold() {
  d_step { HW[me] = 1; inW[me] = 1; waiting[me] = 0 }           /* W4 */
  d_step { notice = ownerDied;                                   /* previousWriterDied */
           assert(notice || !mustNotice);    /* a writer that died holding is always reported */
           myd = hwDeaths }
  granted = 1
}

/* abandonClaim(me, keepingUpgrader: upgrading) -- WR4, WR5, and giving a claim up: while W's owner
   is me, CAS W to keep = 0 if NEXT is me+1 and holdsUpgradable[me] and the upgradable hold is not
   kept (an upgraded holder's write release ends its upgradable hold; holdsUpgradable = 0 first),
   else W's NEXT bits (another writer's place; an upgrade that gives up keeps its own). One step: a
   failed CAS only reloads, and holdsUpgradable is read only by its own participant. Then wake W
   if RS was set; wakeWriters(). */
#ifdef MUTANT_UPG_ABANDON_CLEARS
#define KEEP_UPG 0
#else
#define KEEP_UPG upgrading
#endif
#ifdef UPG
#define INU_OFF inU[me] = 0
#else
#define INU_OFF skip
#endif
#ifdef MUTANT_RELEASE_DROPS_NEXT
#define KEEP_NEXT if :: KEEP_UPG -> W = W & NMASK :: else -> W = 0 fi   /* drops another's NEXT */
#else
#define KEEP_NEXT W = W & NMASK
#endif
inline abandonClaim() {
  d_step { if :: OWN(W) == me + 1 -> ct = ((W & RS) != 0);
                 if :: !KEEP_UPG && NXT(W) == me + 1 && HU[me] -> W = 0; HU[me] = 0; INU_OFF
                 :: else -> KEEP_NEXT
                 fi
              :: else -> skip fi; wr[me] = 0 }
#ifndef MUTANT_NO_RS_WAKE
  if :: ct -> ct = 0; wakeAllW() :: else -> skip fi;
#else
  ct = 0;
#endif
  wakeWriters()
}

/* blockers() of acquireWriteSlow: load W (kept in w for WS1's CAS); isNext ends if NEXT is no
   longer me+1 (recovery cleared it); the blocker is OWNER, else NEXT unless it is this writer's
   own (an upgradable holder or the next writer: waited for, and recovered, like an owner); else,
   not a try, the reader phase: queued readers in the set are deferred to until the phase runs out
   (PHASES), then their slots are checked once and the writer claims. */
inline blockers() {
  d_step { w = W; owner = OWN(w); assert(owner != 0 || (w & RS) == 0); qd = 0; NEWITER;
           if :: isN[me] && NXT(w) != me + 1 -> isN[me] = 0; NLEAVE_G :: else -> skip fi;
#if !defined(MUTANT_NEXT_OVERTAKEN) && !defined(MUTANT_WRITER_IGNORES_UPG)
           if :: owner == 0 && NXT(w) != 0 && (NXT(w) != me + 1 || !isN[me]) -> owner = NXT(w) :: else -> skip fi
#else
           skip
#endif
         }
  if
  :: owner == 0 && mode != TRY ->
#ifdef MUTANT_NEXT_NO_DEFER
     if :: isN[me] -> skip :: else -> queuedReaderSlot() fi;  /* the next writer does not defer */
#else
     queuedReaderSlot();
#endif
     if
     :: qd != 0 ->
        if
        :: !deferring -> deferring = 1                 /* deferringSince = now */
        :: deferring -> skip                           /* the phase goes on */
        :: d_step { deferring && !phaseOver && phases > 0 -> phases--; phaseOver = 1 }   /* 2 ms passed */
        fi;
        if
        :: phaseOver ->
           if
           :: !phaseChk -> phaseChk = 1; recoverDeadBlockers(0, qd); rec = 0
           :: else -> skip
           fi;
           qd = 0
        :: else -> skip
        fi
     :: else -> skip
     fi
  :: else -> skip
  fi
}

#ifdef MUTANT_PHASE_SPIN
#define PHASE_ARG deferring        /* the bug SPIN found: whenever deferringSince != nil */
#else
#define PHASE_ARG (qd != 0)        /* wakeBy: phaseEnd only while deferring to queued readers */
#endif

/* a claim's ghosts: not counted against queued readers if it is a try (it does not defer) or its
   writer's reader phase ran out (PHASES) */
#define CLAIM_M if :: mode == TRY || phaseOver -> TRYCLAIM_G :: else -> CLAIM_G fi

/* tryEnterWrite (W1-W4), then acquireWriteSlow: WS1 (take NEXT), WS2 (the claim loop), WN, drain. */
inline acquireWrite() {
#ifdef UPG
  if :: upgrading -> goto wdrain :: else -> skip fi;      /* upgrade(): the drain W3 only */
#endif
  wr[me] = 1;
  queuedReaderSlot();                                          /* W1 */
  if
  :: qd != 0 -> qd = 0
  :: else ->
#ifdef MUTANT_WRITER_IGNORES_UPG
     d_step { if :: OWN(W) == 0 -> assert(NXT(W) == 0 || NXT(W) == me + 1);   /* P-WNEXT */
                    W = (W & NMASK) | (me + 1); claimed = 1; CLAIM_M :: else -> skip fi }   /* W2 */
#else
     d_step { if :: W == 0 -> W = me + 1; claimed = 1; CLAIM_M :: else -> skip fi }   /* W2: CAS(W, 0, me+1) */
#endif
     if
     :: claimed ->
        busyReaderSlot();                                      /* W3 */
        if :: bz == 0 -> hold() :: else -> bz = 0 fi
     :: else -> skip
     fi
  fi;
  if :: granted -> goto wend :: else -> skip fi;
  if :: mode != TRY -> waiting[me] = 1 :: else -> skip fi;
  if :: claimed -> goto wdrain :: else -> skip fi;
wloop: skip;                                                        /* WS2: the claim loop */
  blockers();
  if
  :: owner == 0 && qd == 0 ->
     /* claim: CAS(W, 0, me+1), or as NEXT CAS(W, NEXT = me+1, me+1), giving NEXT up in the same step
        (the word blockers() loaded: no owner, so no RS either). P-WNEXT asserted. */
#if defined(MUTANT_NEXT_OVERTAKEN) || defined(MUTANT_WRITER_IGNORES_UPG)
     d_step { if :: OWN(W) == 0 && (W & RS) == 0 ->
                    assert(NXT(W) == 0 || NXT(W) == me + 1);   /* P-WNEXT */
                    if :: isN[me] -> W = me + 1 :: else -> W = (W & NMASK) | (me + 1) fi;
                    claimed = 1; isN[me] = 0; NLEAVE_G; CLAIM_M
                 :: else -> skip fi; w = 0 }
#else
     d_step { if :: (isN[me] && W == NBITS(me)) || (!isN[me] && W == 0) ->
                    assert(NXT(W) == 0 || NXT(W) == me + 1);   /* P-WNEXT */
                    W = me + 1; claimed = 1; isN[me] = 0; NLEAVE_G; CLAIM_M
                 :: else -> skip fi; w = 0 }
#endif
     if :: claimed -> goto wdrain :: else -> goto wloop fi
  :: else -> skip
  fi;
  if
  :: mode == TRY ->
     w = 0;
     if
     :: !checked -> recoverDeadBlockers(owner, qd);
        if :: rec -> rec = 0; checked = 1; owner = 0; qd = 0; goto wloop :: else -> skip fi
     :: else -> skip
     fi;
     goto wfail
  :: else -> skip
  fi;
  if                                                            /* WS1: take NEXT */
  :: d_step { !isN[me] && NXT(w) == 0 ->
              if :: W == w -> W = w | NBITS(me); isN[me] = 1; NTAKE_G(w) :: else -> skip fi;
              w = 0; owner = 0; qd = 0 };
     goto wloop
  :: else -> w = 0
  fi;
  prepareE();
#ifndef MUTANT_NO_RECHECK
  blockers();                                                  /* re-check after announcing */
  if :: owner == 0 && qd == 0 -> w = 0; goto wloop :: else -> skip fi;
  if :: !isN[me] && NXT(w) == 0 -> w = 0; owner = 0; qd = 0; goto wloop :: else -> skip fi;
#endif
  w = 0;
  sleepE(PHASE_ARG);
  if
  :: res == AGAIN -> res = 0; owner = 0; qd = 0; goto wloop
  :: res == CHECK -> res = 0; recoverDeadBlockers(owner, qd); rec = 0; owner = 0; qd = 0; goto wloop
  :: res == DEADLINE -> res = 0; recoverDeadBlockers(owner, qd); owner = 0; qd = 0;
     if :: rec -> rec = 0; goto wloop :: else -> goto wfail fi
  fi;
wdrain:                                                        /* drain */
  checked = 0; owner = 0; qd = 0;
dloop:
  busyReaderSlot();
  if :: bz == 0 -> hold(); goto wend :: else -> bz = 0 fi;
  if
  :: mode == TRY ->
     if
     :: !checked -> recoverDeadReaders();
        if :: rec -> rec = 0; checked = 1; goto dloop :: else -> skip fi
     :: else -> skip
     fi;
     abandonClaim(); goto wfail
  :: else -> skip
  fi;
  prepareE();
#ifndef MUTANT_NO_RECHECK
  busyReaderSlot();
  if :: bz == 0 -> goto dloop :: else -> bz = 0 fi;
#endif
  sleepE(0);
  if
  :: res == AGAIN -> res = 0; goto dloop
  :: res == CHECK -> res = 0; recoverDeadReaders(); rec = 0; goto dloop
  :: res == DEADLINE -> res = 0; recoverDeadReaders();
     if :: rec -> rec = 0; goto dloop :: else -> skip fi;
     abandonClaim()                                            /* timed out while claimed */
  fi;
wfail: skip;
  /* WN: a writer that is NEXT leaves without the lock (its deadline; a try never takes NEXT):
     CAS NEXT out of W (whoever owns it), then wakeWriters() */
  if
#ifndef MUTANT_WN_MISSING
  :: d_step { isN[me] -> if :: NXT(W) == me + 1 -> W = W & ~NMASK :: else -> skip fi; isN[me] = 0; NLEAVE_G };
     wakeWriters()
#else
  :: d_step { isN[me] -> isN[me] = 0; NLEAVE_G }             /* NEXT left in W */
#endif
  :: else -> skip
  fi;
  d_step { wr[me] = 0; waiting[me] = 0 };
wend:
  skip
}

inline clearNotice() {                                         /* WR3 */
  if
  :: ownerDied -> d_step { ownerDied = 0; if :: notice && myd == hwDeaths -> mustNotice = 0 :: else -> skip fi }
  :: else -> skip
  fi
}

/* WR1-WR5 (WR1's relaxed load of W is folded into WR2: nobody else changes W's owner while
   we hold) */
inline releaseWrite() {
  d_step { assert(OWN(W) == me + 1 && HW[me]); HW[me] = 0; inW[me] = 0 }   /* WR1, WR2 */
#ifndef MUTANT_WR3_LATE
  clearNotice();
#endif
  abandonClaim();                                                           /* WR4, WR5 */
#ifdef MUTANT_WR3_LATE
  clearNotice()
#endif
}

#ifdef UPG
/* ------------------------------------------------------------------ upgradable holds */
/* U1 acquireUpgradable: word = load W; no OWNER and no NEXT: CAS NEXT = me+1 in (load and
   successful CAS as one step; a failed CAS only reloads); else the holder (owner, else upgrader)
   is waited for on E like a writer waits: prepareToWaitOnEvent, re-check, sleep; the liveness
   check and the deadline check that holder. A try checks it once. Readers are not deferred to. */
inline acquireUpgradable() {
  d_step { up[me] = 1; if :: mode != TRY -> waiting[me] = 1 :: else -> skip fi }
uloop: skip;
  d_step { w = W; assert(OWN(w) != 0 || (w & RS) == 0);
           if
           :: OWN(w) == 0 && NXT(w) == 0 -> W = w | NBITS(me); HU[me] = 1; inU[me] = 1; got = 1; waiting[me] = 0
           :: OWN(w) != 0 -> owner = OWN(w)
           :: OWN(w) == 0 && NXT(w) != 0 -> owner = NXT(w)
           fi;
           w = 0 }
  if :: got -> goto udone :: else -> skip fi;
  if
  :: mode == TRY ->
     if
     :: !checked -> rs = owner - 1; recoverIfDead();
        if :: rec -> rec = 0; checked = 1; owner = 0; goto uloop :: else -> skip fi
     :: else -> skip
     fi;
     goto ufail
  :: else -> skip
  fi;
  prepareE();
  d_step { w = W; assert(OWN(w) != 0 || (w & RS) == 0);      /* re-check after announcing */
           if :: OWN(w) == 0 && NXT(w) == 0 -> bz = 1 :: else -> skip fi; w = 0 }
  if :: bz -> bz = 0; owner = 0; goto uloop :: else -> skip fi;
  sleepE(0);
  if
  :: res == AGAIN -> res = 0; owner = 0; goto uloop
  :: res == CHECK -> res = 0; rs = owner - 1; owner = 0; recoverIfDead(); rec = 0; goto uloop
  :: res == DEADLINE -> res = 0; rs = owner - 1; owner = 0; recoverIfDead();
     if :: rec -> rec = 0; goto uloop :: else -> skip fi
  fi;
ufail: skip;
  d_step { owner = 0; checked = 0; waiting[me] = 0 };
udone:
  skip
}

/* U2 upgrade: guard (NEXT == me+1, OWNER == 0) and CAS OWNER = me+1 in, keeping NEXT (one
   step: nobody else changes W while it is NEXT = me+1 alone -- readers CAS only an owned W,
   writers and upgraders take NEXT only while it is 0 and claim only from W == 0 or their own NEXT); then the writer's drain with keepingUpgrader: acquireWrite
   entered at wdrain. Untimed or timed (no try); giving up clears OWNER only. */
inline upgrade() {
  if
  :: mode = FOREVER
#ifndef NO_TIMED
  :: mode = TIMED
#endif
  fi;
  d_step { assert(NXT(W) == me + 1 && OWN(W) == 0 && inU[me] && HU[me]); W = W | (me + 1); UPGCLAIM_G;
           wr[me] = 1; upgrading = 1; claimed = 1; waiting[me] = 1 }
  acquireWrite();
  upgrading = 0
}

/* U3 downgrade: the guard's loads (OWNER == me+1, holdsWrite == 1; nobody else changes them while
   we hold) are folded into the publication R[me] += 1 (fetch_add: the old BIASED too); if the old
   value was not BIASED, bias(me) (B1, B2) while W is still held; then the write release WR2-WR5.
   The read hold begins at WR2, where the write hold ends. */
inline downgrade() {
#ifdef MUTANT_DOWNGRADE_LATE
  d_step { assert(OWN(W) == me + 1 && HW[me]); HW[me] = 0; inW[me] = 0 }   /* releases first */
  clearNotice();
  abandonClaim();
  d_step { pb = BI[me]; R[me]++; rd[me] = 1; inR[me] = 1 }                 /* then publishes */
  if :: pb -> pb = 0 :: else -> bias() fi
#else
  d_step { assert(OWN(W) == me + 1 && HW[me]); pb = BI[me]; R[me]++; rd[me] = 1 }  /* publish the read */
  if :: pb -> pb = 0 :: else -> bias() fi;                                 /* v2: not BIASED: bias(me) */
  d_step { HW[me] = 0; inW[me] = 0; inR[me] = 1 }                          /* WR2 */
  clearNotice();                                                           /* WR3 */
  abandonClaim()                                                           /* WR4, WR5 */
#endif
}

/* U4 releaseUpgradable: holdsUpgradable = 0, CAS NEXT from me+1 to 0 while OWNER == 0 (load + CAS one step, W is
   stable as in upgrade), then wakeWriters(). */
inline releaseUpgradable() {
  d_step { assert(NXT(W) == me + 1 && OWN(W) == 0 && inU[me] && HU[me]); HU[me] = 0; W = W & ~NMASK; inU[me] = 0 }
  wakeWriters()
}
#endif

/* ------------------------------------------------------------------ attach */
inline attach() {
  d_step { SLK[me] == 0 -> SLK[me] = me + 1 }      /* the slot lock becomes our token */
  clear(me);
  ST[me] = 1;
  d_step { BM = BM | (1 << me); att[me] = 1 }
}

/* ------------------------------------------------------------------ participants */
proctype P(byte me; byte role; byte iters) {
  byte w, left, rs, cw, snap, rsnap, qd, bz, owner, res, mode, myd, it;
#ifdef UPG
  byte op;                 /* 0 read, 1 write, 2 upgradable */
#else
  bool op;
#endif
  bool got, lk, rec, ct, ew, claimed, granted, notice, deferring, phaseOver, phaseChk, checked, upgrading;
  bool pb, vk, vr, ve;     /* prev BIASED (R1, downgrade); V1 succeeded; V3/repair: re-add; V2 emptied the word */

start:
  {
    if :: att[me] -> skip :: else -> attach() fi;
    do
#ifdef LIVE
    :: true ->
#else
    :: it < iters -> it++;
#endif
#ifdef UPG
       if
       :: role == 0 || role == 2 || role == 4 -> op = 0
       :: role == 1 || role == 2 || role == 4 -> op = 1
       :: role >= 3 -> op = 2
       fi;
#else
       if
       :: role != 1 -> op = 0
       :: role != 0 -> op = 1
       fi;
#endif
       if
#ifndef NO_FOREVER
       :: mode = FOREVER
#endif
#ifndef NO_TRY
       :: mode = TRY
#endif
#ifndef NO_TIMED
       :: mode = TIMED
#endif
       fi;
       if
       :: op == 0 ->
          acquireRead();
          if :: got -> releaseRead() :: else -> skip fi
#ifdef UPG
       :: op == 1 ->
          acquireWrite();
          if
          :: granted ->
             if
             :: releaseWrite()
             :: downgrade(); releaseRead()          /* a plain write hold may downgrade too */
             fi
          :: else -> skip
          fi
#else
       :: else ->
          acquireWrite();
          if :: granted -> releaseWrite() :: else -> skip fi
#endif
#ifdef UPG
       :: op == 2 ->
          acquireUpgradable();
          if
          :: got ->
             if
             :: releaseUpgradable()
             :: upgrade();
                if
                :: granted ->
                   if
                   :: releaseWrite()                   /* ends the upgradable hold too (W = 0) */
                   :: downgrade(); releaseRead()
                   fi
                :: else -> releaseUpgradable()        /* gave up: the upgradable hold is kept */
                fi
             fi
          :: else -> skip
          fi
#endif
       fi;
#ifdef UPG
       d_step { got = 0; granted = 0; claimed = 0; notice = 0; deferring = 0; phaseOver = 0;
                phaseChk = 0; checked = 0; mode = 0; op = 0; myd = 0; up[me] = 0 }
#else
       d_step { got = 0; granted = 0; claimed = 0; notice = 0; deferring = 0; phaseOver = 0;
                phaseChk = 0; checked = 0; mode = 0; op = 0; myd = 0 }
#endif
#ifndef LIVE
    :: it == iters -> break
#endif
    od;
    running[me] = 0
  } unless { !alive[me] };
  if
  :: !alive[me] ->
     d_step { w = 0; left = 0; rs = 0; cw = 0; snap = 0; rsnap = 0; qd = 0; bz = 0; owner = 0;
              res = 0; mode = 0; op = 0; myd = 0; got = 0; lk = 0; rec = 0; ct = 0; ew = 0;
              claimed = 0; granted = 0; notice = 0; deferring = 0; phaseOver = 0; phaseChk = 0;
              pb = 0; vk = 0; vr = 0; ve = 0; upgrading = 0;
              checked = 0 }
     if
     :: alive[me] = 1; goto start                   /* a new process opens the lock again */
     :: running[me] = 0                             /* stays dead */
     fi
  :: else -> skip
  fi
}

/* A participant dies: the kernel drops the OFD locks of its description (its token, and a slot
   lock it held for recovery) and takes it off the futex queues. Shared memory stays. */
#define KILLABLE(p) (alive[p] && running[p])
active proctype killer() {
  byte v;
  do
  :: atomic {
       kills < MAXKILL && (KILLABLE(0) || KILLABLE(1) || KILLABLE(2)) ->
       if
       :: KILLABLE(0) -> v = 0
       :: KILLABLE(1) -> v = 1
       :: KILLABLE(2) -> v = 2
       fi;
       alive[v] = 0;
       if :: SLK[0] == v + 1 -> SLK[0] = 0 :: else -> skip fi;
       if :: SLK[1] == v + 1 -> SLK[1] = 0 :: else -> skip fi;
       if :: SLK[2] == v + 1 -> SLK[2] = 0 :: else -> skip fi;
       qW[v] = 0; qE[v] = 0;
       if :: HW[v] -> mustNotice = 1; hwDeaths++ :: else -> skip fi;
       inR[v] = 0; inW[v] = 0; att[v] = 0; waiting[v] = 0; rd[v] = 0; wr[v] = 0; isN[v] = 0;
#ifdef UPG
       inU[v] = 0; up[v] = 0;
#endif
#ifdef BOUND
       visb = visb & ~(1 << v); rcnt[v] = 0; rxb = (rxb | visb) & ~(1 << v);  /* a death excuses every waiting reader */
       inflt = inflt & ~(1 << v); blind[v] = 0; ngr[v] = 0;
#endif
       kills++; v = 0
     }
  :: break
  od
}

#ifndef LIVE
/* Safety invariants, checked in every reachable state by a monitor. */
#define MUTEX(p, q, r) (!inW[p] || (!inR[p] && !inR[q] && !inW[q] && !inR[r] && !inW[r]))
#define UP(p) (alive[p] && att[p])
#ifdef UPG
/* an upgradable holder beside readers is fine; beside another upgradable holder or a writer not
   (after its upgrade it is a writer: MUTEX) */
#define UMUTEX(p, q, r) (!inU[p] || (!inU[q] && !inW[q] && !inU[r] && !inW[r]))
#define UHOLD(p) (!inU[p] || NXT(W) == p + 1)                 /* a live upgradable holder keeps it */
#define INU(p) inU[p]
#define UINV_P(p, q, r) && UMUTEX(p, q, r) && UHOLD(p)
#else
#define INU(p) 0
#define UINV_P(p, q, r)
#endif
/* NEXT: a live writer that took NEXT keeps it until it claims or leaves; a live participant is
   NEXT only as such a writer or as the upgradable holder (no phantom NEXT, no lost NEXT) */
#define NHOLD(p) (!isN[p] || NXT(W) == p + 1)
#define NPHANTOM(p) (!UP(p) || NXT(W) != p + 1 || isN[p] || INU(p))
#define NINV_P(p) && NHOLD(p) && NPHANTOM(p)
#ifdef BOUND
/* P-WBOUND: since p took NEXT, at most one write claim by others (the owner it found) */
#define WBOUND(p) (ngr[p] <= 1)
/* P-RBOUND: since a queued reader became visible, no write claim without an excuse */
#define RBOUND(r) (rcnt[r] == 0 || ((rxb >> (r)) & 1))
#define BINV && WBOUND(0) && WBOUND(1) && WBOUND(2) && RBOUND(0) && RBOUND(1) && RBOUND(2)
#else
#define BINV
#endif
#define INV_P(p, q, r) ( MUTEX(p, q, r) \
  && (!inW[p] || (OWN(W) == p + 1 && HW[p])) \
  && (!inR[p] || R[p] > 0) \
  && (!UP(p) || (ST[p] && ((BM >> p) & 1) && SLK[p] == p + 1)) \
  && (!UP(p) || rd[p] || (R[p] == 0 && WR[p] == 0)) \
  && (!UP(p) || wr[p] || (!HW[p] && OWN(W) != p + 1)) UINV_P(p, q, r) NINV_P(p) )
/* P-SET (I-SET): a biased slot, or one with queued readers, is in the readers set -- except the slot
   whose revocation W's owner is inside (V2..V3; a dead owner's until the repair), and a slot whose
   reader has queued (R6) and not yet biased (R6b: B1), or died there */
#define ISET(s) ((!BI[s] && WR[s] == 0) || ((AR >> (s)) & 1) || rvk == (s) + 1 || qp[s])
/* and the summary: a non-zero AR word has its S bit -- except while W's owner is inside V4 of that
   word (or died there, until the repair: rv4), and while a participant that set a bit of the word
   with S's bit clear has not set S's bit yet (or died there: jw) */
#define SX(x) ((AR & WM(x)) == 0 || ((S >> (x)) & 1) || rv4 == (x) + 1 || (((jw[0] | jw[1] | jw[2]) >> (x)) & 1))
#define PSET (ISET(0) && ISET(1) && ISET(2) && SX(0) && SX(1))
#define INV (INV_P(0, 1, 2) && INV_P(1, 2, 0) && INV_P(2, 0, 1) \
  && (!(W & RS) || OWN(W) != 0) && (!ownerDied || mustNotice) && PSET BINV)

/* On a violation the first failing assertion names the invariant. */
active proctype monitor() {
end: atomic { !INV ->
       assert(MUTEX(0, 1, 2) && MUTEX(1, 2, 0) && MUTEX(2, 0, 1));            /* mutual exclusion */
#ifdef UPG
       assert(UMUTEX(0, 1, 2) && UMUTEX(1, 2, 0) && UMUTEX(2, 0, 1));         /* upgradable: no upgrader or writer beside it */
       assert(UHOLD(0) && UHOLD(1) && UHOLD(2));                              /* upgradable holder keeps its hold */
#endif
       assert(NHOLD(0) && NHOLD(1) && NHOLD(2));                              /* a NEXT writer keeps NEXT */
       assert(NPHANTOM(0) && NPHANTOM(1) && NPHANTOM(2));                     /* no phantom NEXT */
#ifdef BOUND
       assert(WBOUND(0) && WBOUND(1) && WBOUND(2));                           /* P-WBOUND */
       assert(RBOUND(0) && RBOUND(1) && RBOUND(2));                           /* P-RBOUND */
#endif
       assert((!inW[0] || (OWN(W) == 1 && HW[0])) && (!inW[1] || (OWN(W) == 2 && HW[1]))
              && (!inW[2] || (OWN(W) == 3 && HW[2]))
              && (!inR[0] || R[0] > 0) && (!inR[1] || R[1] > 0) && (!inR[2] || R[2] > 0)); /* holder keeps its lock */
       assert(PSET);                                                         /* P-SET: biased or queued => in AR */
       assert(!ownerDied || mustNotice);                                     /* notice only after a death holding */
       assert(!(W & RS) || OWN(W) != 0);                                     /* RS only on an owned W */
       assert(INV) }                                                         /* slot of a live participant intact, no phantom holds */
}
#endif

init {
  atomic {
    alive[0] = 1; alive[1] = 1; running[0] = 1; running[1] = 1;
    ST[0] = 1; ST[1] = 1; SLK[0] = 1; SLK[1] = 2; att[0] = 1; att[1] = 1;
#if NP == 3
    alive[2] = 1; running[2] = 1; ST[2] = 1; SLK[2] = 3; att[2] = 1; BM = 7;
#else
    BM = 3;
#endif
    run P(0, ROLE0, ITER0); run P(1, ROLE1, ITER1);
#if NP == 3
    run P(2, ROLE2, ITER2)
#endif
  }
}

/* every live waiter eventually gets the lock or gives up (timeout / death) */
ltl live0  { [] (waiting[0] -> <> !waiting[0]) }
ltl live1  { [] (waiting[1] -> <> !waiting[1]) }
ltl live2  { [] (waiting[2] -> <> !waiting[2]) }
/* while a writer holds, every other participant's wait blocks: nobody runs forever meanwhile
   (checked without fairness, without deaths, timeouts or tries) */
ltl nobusy { [] ((inW[0] || inW[1] || inW[2]) -> <> !(inW[0] || inW[1] || inW[2])) }
#ifdef UPG
/* both participants' waits end (a dead upgradable holder, or a dead writer, is recovered) */
ltl live01 { [] (waiting[0] -> <> !waiting[0]) && [] (waiting[1] -> <> !waiting[1]) }
#endif
