return FraudDetection.FraudDetectionJob.Run(args);
