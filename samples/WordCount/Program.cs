return WordCount.WordCountJob.Run(args);
