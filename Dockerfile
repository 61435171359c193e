# ApexCluster image (Ubuntu 24.04 "noble" bases; TorchSharp's libtorch loads there as is).
# Build: docker build -t apexcluster .
# Run:   docker run --rm -p 8080:8080 -v apex-data:/data -v "$PWD/media:/media:ro" \
#          -e APEX_BOOTSTRAP_ADMIN_KEY=change-me-to-a-long-secret apexcluster
# Other commands: docker run --rm -v "$PWD/music:/music" apexcluster embed /music
# CUDA:  docker build --build-arg APEX_CUDA=true ... (needs the CUDA packages on your NuGet feed
#        and the NVIDIA container runtime).
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
ARG APEX_CUDA=false
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ApexCluster.sln ./
COPY src/ src/
COPY tools/torchsharp-glibcxx/ tools/torchsharp-glibcxx/
RUN dotnet publish src/Apex.Cli/Apex.Cli.csproj -c Release -o /app -p:ApexCuda=${APEX_CUDA} --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data /media && chown "$APP_UID" /data
WORKDIR /app
COPY --from=build /app ./
USER $APP_UID
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["dotnet", "/app/apex.dll"]
CMD ["serve", "--urls", "http://0.0.0.0:8080", "--Apex:DataDir=/data", "--Apex:MediaRoot=/media"]
