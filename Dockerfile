# ApexCluster image (Ubuntu 24.04 "noble" bases). Build: docker build -t apexcluster .
# Run:   docker run --rm -v "$PWD/music:/music" apexcluster embed /music
# CUDA:  docker build --build-arg APEX_CUDA=true ... (needs the NVIDIA container runtime at run time)
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
ARG APEX_CUDA=false
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ApexCluster.sln ./
COPY src/ src/
RUN dotnet publish src/Apex.Cli/Apex.Cli.csproj -c Release -o /app -p:ApexCuda=${APEX_CUDA} --nologo

FROM mcr.microsoft.com/dotnet/runtime:10.0-noble
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
USER $APP_UID
ENTRYPOINT ["dotnet", "/app/apex.dll"]
CMD ["embed", "/app/samples"]
