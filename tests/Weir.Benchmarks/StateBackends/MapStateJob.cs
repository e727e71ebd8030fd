using System.Runtime.CompilerServices;
using System.Threading;
using Weir;
using Weir.Connectors;

namespace Weir.Benchmarks.StateBackends;

/// <summary>A page view: a user and a page (a value type: no allocation per record).</summary>
public readonly record struct PageView(long User, int Page);

/// <summary>Per user and page, the running number of views.</summary>
public readonly record struct PageCount(long User, int Page, long Count);

/// <summary>
/// Record <c>i</c> is user <c>i % users</c> viewing page <c>(i / users * 7919 + i) % pages</c>: every user
/// visits the pages in a scattered order, so each user's map fills up to <c>pages</c> entries.
/// </summary>
public readonly struct PageViewGenerator : IRecordGenerator<PageView>
{
    private readonly long _users;
    private readonly int _pages;

    public PageViewGenerator(long users, int pages)
    {
        _users = users;
        _pages = pages;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PageView Generate(long index) => new(index % _users, (int)((((index / _users) * 7919) + index) % _pages));
}

/// <summary>Counts views per page of each user in a <see cref="MapState{TKey, TValue}"/> and emits the running count.</summary>
public struct CountPerPage : IKeyedProcessFunction<long, PageView, PageCount>
{
    [State("views")]
    private MapState<int, long> _views;

    public void Process(in PageView value, ProcessContext<long> context, ref Collector<PageCount> output)
    {
        long count = _views.Get(value.Page) + 1;
        _views.Put(value.Page, count);
        output.Collect(new PageCount(value.User, value.Page, count));
    }
}

/// <summary>The same count updated in place: one map lookup per record instead of a get and a put.</summary>
public struct CountPerPageInPlace : IKeyedProcessFunction<long, PageView, PageCount>
{
    [State("views")]
    private MapState<int, long> _views;

    public void Process(in PageView value, ProcessContext<long> context, ref Collector<PageCount> output)
    {
        long count = ++_views.GetValueRefOrAddDefault(value.Page, out _);
        output.Collect(new PageCount(value.User, value.Page, count));
    }
}

/// <summary>The map-state workload with the in-place update.</summary>
[Job("page-counts-in-place")]
public static partial class PageCountInPlaceJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, long count, long users, int pages)
        => p
            .Source("views", Sources.Generate<PageView, PageViewGenerator>(count, new PageViewGenerator(users, pages)))
            .KeyBy(v => v.User)
            .Process("page-counts", new CountPerPageInPlace())
            .Sink("out", new PageCountChecksumSink());
}

/// <summary>The map-state workload: generated page views, keyed by user, counted per page in map state.</summary>
[Job("page-counts")]
public static partial class PageCountJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, long count, long users, int pages)
        => p
            .Source("views", Sources.Generate<PageView, PageViewGenerator>(count, new PageViewGenerator(users, pages)))
            .KeyBy(v => v.User)
            .Process("page-counts", new CountPerPage())
            .Sink("out", new PageCountChecksumSink());
}

/// <summary>Folds page counts into a checksum (records, Σ count, Σ count × (user + page)), as the keyed-count checksum sink does.</summary>
public sealed class PageCountChecksumSink : ISink<PageCount, PageCountChecksumWriter>
{
    private static long s_records;
    private static long s_countSum;
    private static long s_weightedSum;

    public static (long Records, long CountSum, long WeightedSum) Total
        => (Interlocked.Read(ref s_records), Interlocked.Read(ref s_countSum), Interlocked.Read(ref s_weightedSum));

    public static void Reset()
    {
        Interlocked.Exchange(ref s_records, 0);
        Interlocked.Exchange(ref s_countSum, 0);
        Interlocked.Exchange(ref s_weightedSum, 0);
    }

    public PageCountChecksumWriter CreateWriter(SinkContext context) => new();

    internal static void Add(long records, long countSum, long weightedSum)
    {
        Interlocked.Add(ref s_records, records);
        Interlocked.Add(ref s_countSum, countSum);
        Interlocked.Add(ref s_weightedSum, weightedSum);
    }
}

/// <summary>One subtask's page-count checksum writer.</summary>
public sealed class PageCountChecksumWriter : ISinkWriter<PageCount>
{
    private long _records;
    private long _countSum;
    private long _weightedSum;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(in PageCount record)
    {
        _records++;
        _countSum = unchecked(_countSum + record.Count);
        _weightedSum = unchecked(_weightedSum + (record.Count * (record.User + record.Page)));
    }

    public void Flush()
    {
    }

    public void Finish() => PageCountChecksumSink.Add(_records, _countSum, _weightedSum);

    public void Dispose()
    {
    }
}
