return ClickLocations.ClickLocationsJob.Run(args);
