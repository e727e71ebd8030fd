return ClickCounts.ClickCountsJob.Run(args);
