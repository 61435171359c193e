using Apex.Silo.Hosting;

return await ApexSiloHost.RunAsync(args);
