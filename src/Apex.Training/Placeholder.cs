namespace Apex.Training;
