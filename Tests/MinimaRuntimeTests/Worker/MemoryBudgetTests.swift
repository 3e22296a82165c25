import Testing
@testable import MinimaRuntime

/// Issue 18, item 6: a worker with 8 threads given 8 maximal spin glasses (530 MB each) aborted.
/// Trials now start only within the worker's memory budget.
@Suite("A worker's memory budget")
struct MemoryBudgetTests {
    typealias Rule = ExecutorQueue.Rule

    @Test func aTrialStartsWhenItFitsInWhatTheRunningOnesLeave() {
        #expect(ExecutorQueue.rule(forBytes: 400, runningTrials: 1, reservedBytes: 600, budget: 1000) == .start)
        #expect(ExecutorQueue.rule(forBytes: 401, runningTrials: 1, reservedBytes: 600, budget: 1000) == .wait)
    }

    @Test func aTrialThatFitsTheBudgetAloneStartsWhenNothingRuns() {
        #expect(ExecutorQueue.rule(forBytes: 1000, runningTrials: 0, reservedBytes: 0, budget: 1000) == .start)
        #expect(ExecutorQueue.rule(forBytes: 1000, runningTrials: 1, reservedBytes: 1, budget: 1000) == .wait)
    }

    @Test func aTrialLargerThanTheWholeBudgetIsRefusedAtOnceNotQueuedForever() {
        #expect(ExecutorQueue.rule(forBytes: 1001, runningTrials: 0, reservedBytes: 0, budget: 1000) == .refuse)
    }

    @Test func eightMaximalSpinGlassesOnEightThreadsRunTwoAtATimeUnderAGigabyte() {
        // The issue's case, as the worker decides it: 530 MB each, a 1.1 GB budget.
        let each = 530_000_000, budget = 1_100_000_000
        var running = 0, reserved = 0, started = 0, peak = 0
        var waiting = 8
        while waiting > 0 {
            switch ExecutorQueue.rule(forBytes: each, runningTrials: running, reservedBytes: reserved, budget: budget) {
            case .start: running += 1; reserved += each; waiting -= 1; started += 1; peak = max(peak, reserved)
            case .wait: running -= 1; reserved -= each   // the oldest running one finishes
            case .refuse: Issue.record("refused a trial that fits the budget"); return
            }
        }
        #expect(started == 8 && peak == 2 * each)
    }
}
