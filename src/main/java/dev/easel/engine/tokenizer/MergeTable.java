package dev.easel.engine.tokenizer;

import java.util.Arrays;

/**
 * BPE merge ranks keyed by the pair of symbol ids, in an open-addressing table of primitives so
 * that the BPE loop looks pairs up without boxing. Built once; read-only afterwards.
 */
final class MergeTable {

    /** Rank of a pair that has no merge rule. */
    static final int NONE = Integer.MAX_VALUE;

    private static final long EMPTY = -1L; // ids are non-negative, so no real key is -1

    private final long[] keys;
    private final int[] ranks;
    private final int mask;

    private MergeTable(int capacity) {
        keys = new long[capacity];
        ranks = new int[capacity];
        mask = capacity - 1;
        Arrays.fill(keys, EMPTY);
    }

    /**
     * The table for merge rules {@code lefts[r] rights[r]} of rank r. A pair listed twice keeps its
     * later rank, as Python's {@code dict(zip(merges, range(...)))} does.
     */
    static MergeTable of(int[] lefts, int[] rights, int count) {
        MergeTable table = new MergeTable(Integer.highestOneBit(Math.max(count, 1) * 2) * 2);
        for (int rank = 0; rank < count; rank++) {
            table.put(key(lefts[rank], rights[rank]), rank);
        }
        return table;
    }

    /** The rank of merging {@code left} and {@code right}, or {@link #NONE}. */
    int rank(int left, int right) {
        long key = key(left, right);
        for (int slot = slot(key); ; slot = (slot + 1) & mask) {
            long k = keys[slot];
            if (k == key) {
                return ranks[slot];
            }
            if (k == EMPTY) {
                return NONE;
            }
        }
    }

    private void put(long key, int rank) {
        int slot = slot(key);
        while (keys[slot] != EMPTY && keys[slot] != key) {
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        ranks[slot] = rank;
    }

    private int slot(long key) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> 32) & mask; // Fibonacci hashing: high bits mix best
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }
}
